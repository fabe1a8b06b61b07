"""kill -9 of the shipper at random points of a 200k-line burst loses nothing, and what it sends
again never becomes a second document in Elasticsearch."""

from __future__ import annotations

import asyncio
import collections
import random
import signal
import uuid
from pathlib import Path

import pytest

from indexer.service import Indexer
from logfleet.config import Settings
from logfleet.model import decode_raw
from processor.service import Processor
from shipper.follower import MAX_IN_FLIGHT
from tests.support import (
    count_docs,
    isolated,
    prepare,
    read_topic,
    running,
    spawn_cli,
    start_container,
    wait_for,
)

pytestmark = [pytest.mark.servers]
LINES = 200_000
# 100 chunks of 2,000 numbered lines, 20 ms apart: a burst of several seconds to kill into.
BURST = r"""
j=0
while [ $j -lt 100 ]; do
  awk -v j=$j 'BEGIN { for (i = 1; i <= 2000; i++)
    printf "line %d of the burst, padded to look like a real log line\n", j*2000+i }'
  usleep 20000
  j=$((j+1))
done
"""


async def test_kill_9_during_a_burst_loses_nothing_and_duplicates_nothing_in_es(
    stack: Settings, tmp_path: Path
) -> None:
    settings = isolated(stack, tmp_path)
    await prepare(settings)
    name = f"burst-{uuid.uuid4().hex[:8]}"
    rng = random.Random()
    kills = 0
    log_path = tmp_path / "shipper.log"
    container = start_container(settings, BURST, name=name)
    shipper = spawn_cli(settings, "shipper", "run", log_path=log_path)
    try:
        while container.reload() or container.status == "running":
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            shipper.send_signal(signal.SIGKILL)
            shipper.wait()
            kills += 1
            shipper = spawn_cli(settings, "shipper", "run", log_path=log_path)
        assert kills >= 2, "the burst ended before the shipper could be killed twice"

        async def all_shipped() -> collections.Counter[int]:
            numbers: collections.Counter[int] = collections.Counter()
            for record in await read_topic(settings, settings.topic_raw):
                for line in decode_raw(record.value)["lines"]:
                    numbers[int(line[3].split()[1])] += 1
            return numbers if len(numbers) >= LINES else collections.Counter()

        numbers = await wait_for(all_shipped, within=120, interval=2)
    finally:
        shipper.send_signal(signal.SIGTERM)
        assert shipper.wait(timeout=20) == 0

    assert set(numbers) == set(range(1, LINES + 1)), "lines were lost"
    sent_again = sum(numbers.values()) - LINES
    # What a kill can make us send again: lines acknowledged since the last checkpoint write
    # (written every second) plus the records still in flight.
    rate = LINES / 2.0  # lines/s an upper bound for this burst (it takes > 2 s to write)
    assert sent_again <= kills * (rate * 1.5 + MAX_IN_FLIGHT * settings.batch_lines)
    print(f"kills={kills} sent_again={sent_again} ({sent_again / kills:.0f} per kill)")

    async with running(Processor(settings), Indexer(settings)):
        await wait_for(lambda: _count_at_least(settings, name, LINES), within=240, interval=2)
    assert await count_docs(settings, name) == LINES


async def _count_at_least(settings: Settings, name: str, want: int) -> bool:
    return await count_docs(settings, name) >= want
