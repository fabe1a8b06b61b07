"""kill -9 of the shipper at random points of a burst loses nothing, and what it sends again never
becomes a second document in Elasticsearch.

The 200k-line burst is counted in Kafka (every line must be there, and what was sent twice is
counted against what a kill can cause). A 20k-line burst goes all the way to Elasticsearch: the
local stand-in server indexes only about 1-2k documents a second, so 200k documents would take
minutes of CI for no extra evidence.
"""

from __future__ import annotations

import asyncio
import collections
import random
import signal
import uuid
from pathlib import Path

import pytest

from indexer.daemon import Indexer
from logfleet.core.config import Settings
from processor.daemon import Processor
from shipper.acks import MAX_IN_FLIGHT
from tests.support import docs_reach, raw_line_numbers, raw_lines, running, spawn_cli, start_container, wait_for

pytestmark = [pytest.mark.servers]


def burst(chunks: int, per_chunk: int, pause_us: int) -> str:
    """A shell script writing ``chunks * per_chunk`` numbered lines in chunks, pausing between them."""
    return f"""
j=0
while [ $j -lt {chunks} ]; do
  awk -v j=$j 'BEGIN {{ for (i = 1; i <= {per_chunk}; i++)
    printf "line %d of the burst, padded to look like a real log line\\n", j*{per_chunk}+i }}'
  usleep {pause_us}
  j=$((j+1))
done
"""


async def ship_with_kills(settings: Settings, script: str, tmp_path: Path) -> tuple[collections.Counter[int], int]:
    """Run the shipper as a process, kill -9 it at random moments until the container exits, let the
    last one finish; returns how often each line number arrived in the raw topic, and the kill count."""
    rng = random.Random()
    kills = 0
    log_path = tmp_path / "shipper.log"
    container = start_container(settings, script, name=f"burst-{uuid.uuid4().hex[:8]}")
    shipper = spawn_cli(settings, "shipper", "run", log_path=log_path)
    try:
        while container.reload() or container.status == "running":
            await asyncio.sleep(rng.uniform(0.3, 1.2))
            shipper.send_signal(signal.SIGKILL)
            shipper.wait()
            kills += 1
            shipper = spawn_cli(settings, "shipper", "run", log_path=log_path)
        expected = int(container.logs(stdout=True, stderr=False).count(b"\n"))

        async def complete() -> bool:
            return len(await raw_line_numbers(settings)) >= expected

        await wait_for(complete, within=120, interval=2)
    finally:
        await asyncio.sleep(1.0)  # let the last shipper install its signal handlers
        shipper.send_signal(signal.SIGTERM)
        assert shipper.wait(timeout=30) == 0, (tmp_path / "shipper.log").read_text()[-2000:]
    # Counted after the last shipper stopped: whatever it sent again is in.
    numbers = await raw_line_numbers(settings)
    return numbers, kills


@pytest.mark.timeout(400)
async def test_kill_9_during_a_200k_line_burst_loses_no_line(pipeline_settings: Settings, tmp_path: Path) -> None:
    settings = pipeline_settings
    lines = 200_000
    numbers, kills = await ship_with_kills(settings, burst(100, 2_000, 50_000), tmp_path)

    assert kills >= 2, "the burst ended before the shipper could be killed twice"
    assert set(numbers) == set(range(1, lines + 1)), f"lost: {lines - len(numbers)} lines"
    sent_again = sum(numbers.values()) - lines
    # A kill can make the shipper send again what Kafka acknowledged since the last checkpoint
    # write plus the records in flight. The burst writes under 100k lines/s; a shipper killed
    # before its first checkpoint write (it takes ~0.6 s to start) resends what its predecessor did.
    per_kill = 100_000 * (settings.checkpoint_interval_s + 1.2) + MAX_IN_FLIGHT * settings.batch_lines
    assert sent_again <= kills * per_kill
    print(f"\n200k burst: kills={kills} sent_again={sent_again} ({sent_again / kills:.0f} per kill)")


@pytest.mark.timeout(400)
async def test_lines_sent_again_after_kill_9_never_become_second_documents(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    settings = pipeline_settings
    lines = 20_000
    numbers, kills = await ship_with_kills(settings, burst(40, 500, 100_000), tmp_path)
    assert set(numbers) == set(range(1, lines + 1))
    sent_again = sum(numbers.values()) - lines
    print(f"\n20k burst: kills={kills} sent_again={sent_again}")

    indexer = Indexer(settings)
    async with running(Processor(settings), indexer):
        await wait_for(lambda: _indexed_all(indexer, sum(numbers.values())), within=240, interval=1)
    assert indexer.writer is not None
    assert indexer.writer.stats.created == lines
    assert indexer.writer.stats.duplicates == sent_again
    assert await wait_for(lambda: docs_reach(settings, lines), within=30) == lines




async def _indexed_all(indexer: Indexer, items: int) -> bool:
    stats = indexer.writer.stats if indexer.writer else None
    return stats is not None and stats.created + stats.duplicates >= items


async def _raw_texts(settings: Settings, container_id: str) -> list[str]:
    return [line[3] for line in await raw_lines(settings, container_id)]


@pytest.mark.timeout(300)
async def test_kill_9_while_stderr_holds_a_header_resumes_before_it(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    # The joiner holds stderr's "ERROR ...:" for the trace that may follow while stdout goes on and is
    # sent. The checkpoint must stay before the header: a shipper killed then, and started again,
    # must still ship it (before the fix the checkpoint followed stdout, and the header was skipped).
    settings = pipeline_settings
    header = "ERROR request failed:"
    script = (
        f"echo starting; echo '{header}' >&2; "
        "i=0; while [ $i -lt 40 ]; do echo served $i; usleep 50000; i=$((i+1)); done; sleep 300"
    )
    container = start_container(settings, script)
    log_path = tmp_path / "shipper.log"
    shipper = spawn_cli(settings, "shipper", "run", log_path=log_path, LOGFLEET_MULTILINE_FLUSH_S="120")
    try:
        async def all_served() -> bool:
            return sum(text.startswith("served ") for text in await _raw_texts(settings, container.id)) >= 40

        assert await wait_for(all_served, within=60), log_path.read_text()[-2000:]
        await asyncio.sleep(1.5)  # the checkpoint file is written every 0.25 s
        assert header not in await _raw_texts(settings, container.id)  # still held when the shipper dies
        shipper.send_signal(signal.SIGKILL)
        shipper.wait()
        shipper = spawn_cli(settings, "shipper", "run", log_path=log_path, LOGFLEET_MULTILINE_FLUSH_S="1")

        async def header_shipped() -> bool:
            return header in await _raw_texts(settings, container.id)

        assert await wait_for(header_shipped, within=60), "the held header was skipped after the restart"
    finally:
        shipper.send_signal(signal.SIGTERM)
        shipper.wait(timeout=30)
        container.remove(force=True)
    texts = await _raw_texts(settings, container.id)
    assert {f"served {i}" for i in range(40)} | {"starting", header} <= set(texts)
