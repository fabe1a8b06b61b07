"""Docker rotates a container's json-file log (``max-size=100k``) while the pipeline ships it
(issue 7, log rotation).

What the Docker Engine API does across a rotation, measured on this engine with ``docker logs -f``
(20,000 lines of 35 bytes, ``max-size=100k``, ``max-file=3``): a follower that keeps up gets every
line, but the follow stream sends some lines a second time after a rotation (167 to 998 lines more
than written, in runs of a few hundred: dockerd reopens the rotated file and reads part of it again).
A writer that outruns the follower loses lines for good: the rotated file is deleted before it is
read (16,475 of 20,000 unique lines reached ``docker logs -f``, and afterwards ``docker logs``
returns the last 1,770 only). So:

- shipping while Docker rotates: every line arrives in Elasticsearch exactly once; the lines the
  follow stream sends again do not become second documents (before the shipper dropped them, 171
  of the 323 repeats of a run got a new ordinal, hence a new event id, and were stored twice);
- the shipper stopped while Docker rotated the lines after its checkpoint away: what Docker still
  returns is shipped exactly once, everything shipped before stays, nothing else appears, and the
  lines Docker deleted are reported as a gap by the shipper.
"""

from __future__ import annotations

import asyncio
import collections
from pathlib import Path
from typing import Any

import pytest

from indexer.daemon import Indexer
from logfleet.core.config import Settings
from processor.daemon import Processor
from shipper.daemon import Shipper
from tests.support import docs_reach, raw_line_numbers, running, start_container, stored_docs, wait_for

pytestmark = [pytest.mark.servers]

ROTATE = {"type": "json-file", "config": {"max-size": "100k", "max-file": "3"}}
PADDING = "padding-padding-padding"


def writer(first: int, last: int, burst: int) -> str:
    """awk writing ``line N padding`` for N in [first, last), pausing 10 ms after every ``burst`` lines."""
    return (
        f'awk \'BEGIN {{ for (i = {first}; i < {last}; i++) {{ print "line " i " {PADDING}"; fflush();'
        f' if (i % {burst} == {burst} - 1) system("usleep 10000") }} }}\''
    )


def docker_lines(container: Any) -> list[str]:
    """What the Docker Engine API returns for the container now (``docker logs``)."""
    return container.logs(stdout=True, stderr=True).decode().splitlines()  # type: ignore[no-any-return]


def number(text: str) -> int:
    return int(text.split()[1])


async def stored_numbers(settings: Settings) -> collections.Counter[int]:
    return collections.Counter(number(str(doc["message"])) for doc in await stored_docs(settings))


@pytest.mark.timeout(300)
async def test_a_follower_that_keeps_up_ships_every_line_once_across_rotations(pipeline_settings: Settings) -> None:
    settings = pipeline_settings
    lines = 20_000  # about 700 KB: Docker rotates the file seven times
    async with running(Shipper(settings), Processor(settings), Indexer(settings)):
        await asyncio.sleep(1.0)
        container = start_container(settings, f"sleep 1; {writer(0, lines, 50)}; sleep 1", log_config=ROTATE)
        try:
            await asyncio.to_thread(container.wait, timeout=120)
            kept = docker_lines(container)
            assert await wait_for(lambda: docs_reach(settings, lines), within=120, interval=2), "lines missing"
            stored = await stored_numbers(settings)
        finally:
            container.remove(force=True)
    raw = await raw_line_numbers(settings)
    sent_again = sum(raw.values()) - len(raw)
    print(
        f"\nrotation, keeping up: written={lines} kept by docker={len(kept)} raw={sum(raw.values())} "
        f"sent again={sent_again} stored={sum(stored.values())}"
    )
    assert len(kept) < lines // 2, "Docker did not rotate the log away"
    assert set(stored) == set(range(lines))
    assert [n for n, seen in stored.items() if seen > 1] == []


@pytest.mark.timeout(300)
async def test_lines_rotated_away_while_the_shipper_was_stopped_are_a_reported_gap_and_the_rest_ships_once(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    settings = pipeline_settings
    control = tmp_path / "control"
    control.mkdir()
    before, total = 2_000, 22_000
    # Lines 0..1999, then wait for the test; then 20,000 more at full speed: Docker keeps the last few
    # thousand and deletes the file holding the shipper's checkpoint line with the others.
    script = (
        f"{writer(0, before, 50)}; while [ ! -e /control/go ]; do usleep 100000; done; {writer(before, total, total)}"
    )
    first = Shipper(settings)
    async with running(Processor(settings), Indexer(settings)):
        container = start_container(
            settings, script, log_config=ROTATE, volumes={str(control): {"bind": "/control", "mode": "ro"}}
        )
        try:
            async with running(first):
                assert await wait_for(lambda: docs_reach(settings, before), within=90, interval=1)
            (control / "go").touch()  # the shipper is stopped (checkpoints written) while Docker rotates
            assert (await asyncio.to_thread(container.wait, timeout=120))["StatusCode"] == 0
            kept = [number(line) for line in docker_lines(container)]
            second = Shipper(settings)  # reads the checkpoints the first one wrote when it stopped
            async with running(second):
                assert await wait_for(lambda: docs_reach(settings, before + len(kept)), within=120, interval=2)
            stored = await stored_numbers(settings)
        finally:
            container.remove(force=True)
    gone = total - before - len(kept)
    print(
        f"\nrotation, shipper stopped: written={total} shipped before the stop={before} kept by docker={len(kept)} "
        f"gone from docker={gone} stored={sum(stored.values())} gaps reported={second.stats.gaps}"
    )
    assert gone > 0 and min(kept) > before, "Docker did not rotate the checkpoint's line away"
    assert set(stored) == set(range(before)) | set(kept)  # what was shipped, and everything Docker still has
    assert [n for n, seen in stored.items() if seen > 1] == []
    assert first.stats.gaps == 0 and second.stats.gaps == 1
