"""`logfleet audit export` of 100,000 records is complete and in nanosecond order.

Four containers' records interleave in time, and five lines of a container share each Docker
timestamp (only ``event.sequence`` orders those), so a page boundary of ``search_after`` falls
inside runs of equal timestamps many times. The records are made with the processor's own
EventBuilder and written with ``_bulk`` in requests of 10,000 (through the pipeline the stand-in
server would take several minutes to index them); the export goes through the real CLI.

The stand-in indexes a few thousand documents per second and reads through a point in time at about
2,000 per second on this machine (2 cores, shared), so this test takes one to two minutes; the
measured rates are printed (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from logfleet.core.config import Settings
from logfleet.core.model import format_ts
from tests.ops.test_audit_data import NS, Line, events_body, now_ns, write
from tests.support import logfleet_cli

pytestmark = [pytest.mark.servers]

RECORDS = 100_000
CONTAINERS = 4
SAME_TIMESTAMP = 5
PER_REQUEST = 10_000
IN_FLIGHT = 2  # bulk requests at once: the server works on one while the next is being built


def read_ndjson(path: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines()]


def make_lines(base: int) -> list[Line]:
    lines = []
    per_container = RECORDS // CONTAINERS
    for k in range(CONTAINERS):
        for i in range(per_container):
            ts = base + (i // SAME_TIMESTAMP) * 1_000 + k  # containers 1 ns apart, 5 lines per timestamp
            lines.append(Line(f"bulk-{k}", ts, f"record {i} of bulk-{k}", "info", ordinal=i % SAME_TIMESTAMP,
                              service="bulk", host=f"host-{k % 2}"))
    return lines


async def test_export_of_100k_records_is_complete_and_ordered(engine_settings: Settings, tmp_path: object) -> None:
    s = engine_settings
    base = now_ns() - 3600 * NS
    lines = make_lines(base)

    started = time.monotonic()
    written: set[str] = set()
    in_flight: set[asyncio.Task[None]] = set()
    for first in range(0, RECORDS, PER_REQUEST):
        bulk = events_body(s.namespace, lines[first : first + PER_REQUEST])
        written |= set(bulk.ids)
        if len(in_flight) >= IN_FLIGHT:
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        in_flight.add(asyncio.create_task(write(s, b"\n".join(bulk.body) + b"\n", refresh=False)))
    for task in in_flight:
        await task
    await write(s, b"")  # one refresh at the end
    indexed_s = time.monotonic() - started
    assert len(written) == RECORDS

    target = f"{tmp_path}/all.ndjson"
    started = time.monotonic()
    result = logfleet_cli(s, "audit", "export", "--since", format_ts(base - NS), "-o", target, timeout=900)
    exported_s = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert f"exported {RECORDS} of {RECORDS} matching records to {target}" in result.stderr

    keys = [(d["@timestamp"], d["event"]["sequence"], d["event"]["id"]) for d in read_ndjson(target)]
    assert len(keys) == RECORDS
    assert {key[2] for key in keys} == written  # every record, none twice
    # RFC 3339 with nine fraction digits in UTC sorts as text exactly as the nanoseconds do
    assert all(a < b for a, b in itertools.pairwise(keys)), "export out of order"
    assert keys[0][0] == keys[SAME_TIMESTAMP - 1][0] == format_ts(base)  # one timestamp, five lines of bulk-0,
    assert [key[1] for key in keys[:SAME_TIMESTAMP]] == list(range(SAME_TIMESTAMP))  # in their sequence

    print(
        f"\n100k export: indexed {RECORDS} in {indexed_s:.1f} s ({RECORDS / indexed_s:.0f} docs/s), "
        f"exported in {exported_s:.1f} s ({RECORDS / exported_s:.0f} docs/s)"
    )
