"""`logfleet audit` orders records by the time each line states (``@timestamp``), and lines that state
the same time in Docker's order (``event.created``, then ``event.sequence``): a logger that writes
milliseconds or whole seconds does not scramble a container's lines."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from logfleet.core.config import Settings
from logfleet.ops.audit.search import SORT_FIELDS, sort_spec
from tests.ops.test_audit_data import NS, Line, now_ns, write_lines
from tests.support import logfleet_cli

MS = 1_000_000


def test_the_sort_key_is_the_line_time_then_dockers_order() -> None:
    assert SORT_FIELDS == ("@timestamp", "event.created", "event.sequence", "event.id")
    spec = sort_spec("desc")
    assert [next(iter(s)) for s in spec] == list(SORT_FIELDS)
    assert spec[1] == {"event.created": {"order": "desc", "unmapped_type": "date_nanos"}}


def _lines(base: int) -> list[Line]:
    said = base + 10 * NS  # what the batch job wrote in its lines, to the millisecond
    return [
        # one container prints three lines in the same millisecond, received a little later
        Line("batch-1", base + 40 * NS, "step 1", stated_ns=said, service="batch"),
        Line("batch-1", base + 40 * NS, "step 2", stated_ns=said, ordinal=1, service="batch"),
        Line("batch-1", base + 41 * NS, "step 3", stated_ns=said, service="batch"),
        # received before all of them, but says it is later
        Line("batch-2", base + 39 * NS, "later", stated_ns=said + MS, service="batch"),
        # says nothing: Docker's time is its @timestamp
        Line("batch-2", base + 5 * NS, "silent", service="batch"),
    ]


@pytest.mark.servers
async def test_search_and_export_keep_a_containers_order_within_one_stated_time(
    pipeline_settings: Settings, tmp_path: Any
) -> None:
    s = pipeline_settings
    lines = _lines(now_ns() - 30 * 60 * NS)
    await write_lines(s, lines)
    expected = ["silent", "step 1", "step 2", "step 3", "later"]
    for args in (["search", "--since", "2h"], ["search", "--since", "2h", "--sort", "desc"]):
        result = logfleet_cli(s, "audit", *args, "--format", "ndjson", timeout=120)
        assert result.returncode == 0, result.stderr
        docs = [orjson.loads(line) for line in result.stdout.splitlines()]
        got = [d["message"] for d in docs]
        assert got == (expected if "desc" not in args else expected[::-1])
    out = tmp_path / "export.ndjson"
    result = logfleet_cli(s, "audit", "export", "--since", "2h", "-o", str(out), "--format", "ndjson", timeout=120)
    assert result.returncode == 0, result.stderr
    docs = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [d["message"] for d in docs] == expected
    by_message = {d["message"]: d for d in docs}
    assert by_message["step 3"]["@timestamp"] == by_message["step 1"]["@timestamp"]
    assert by_message["step 3"]["event"]["created"] > by_message["step 1"]["event"]["created"]
