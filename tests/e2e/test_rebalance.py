"""Processors joining and leaving one consumer group mid-stream: every line ends in Elasticsearch
exactly once, and every member that was in the group processed its share (issue 7, rebalance).

Raw records are put on the raw topic at a steady pace (15,000 numbered lines of six made-up
containers, so every partition gets some) while processors come and go in the group; an indexer
writes what they produce. At the end every line number must be in Elasticsearch once. A member that
is killed stops heartbeating and the broker drops it after ``session_timeout_ms``; its partitions go
to the others without any help from logfleet.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import signal
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from indexer.daemon import Indexer
from logfleet.core.config import Settings
from logfleet.core.model import ContainerMeta, encode_raw
from logfleet.devstack.ports import free_port
from processor.daemon import Processor
from tests.support import docs_reach, running, spawn_cli, stored_docs, wait_for

pytestmark = [pytest.mark.servers]

LINES = 15_000
PER_RECORD = 100
PACE_S = 0.25  # 150 records: the stream lasts about 40 s
CONTAINERS = [ContainerMeta(id=f"{k:x}" * 64, name=f"rebalance-{k}", image="local/busybox:1") for k in range(6)]


def raw_records() -> list[tuple[bytes, bytes]]:
    """(key, value) of every raw record; record ``r`` belongs to container ``r % 6``."""
    base = time.time_ns() - 3600 * 10**9
    out = []
    for r, first in enumerate(range(0, LINES, PER_RECORD)):
        meta = CONTAINERS[r % len(CONTAINERS)]
        lines = [[base + n * 1000, 0, "stdout", f"line {n}", []] for n in range(first, first + PER_RECORD)]
        out.append((meta.id.encode(), encode_raw("rebalance-host", meta.as_json(), lines)))
    return out


async def produce_slowly(settings: Settings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", max_request_size=16 << 20)
    await producer.start()
    try:
        for key, value in raw_records():
            await (await producer.send(settings.topic_raw, value, key=key))
            await asyncio.sleep(PACE_S)
    finally:
        await producer.stop()


async def stored_line_numbers(settings: Settings) -> collections.Counter[int]:
    """How often each line number is stored in Elasticsearch (``message`` is ``line N``)."""
    return collections.Counter(int(str(doc["message"]).split()[1]) for doc in await stored_docs(settings))


async def assert_every_line_once(settings: Settings) -> None:
    assert await wait_for(lambda: docs_reach(settings, LINES), within=150, interval=2), "not every line arrived"
    numbers = await stored_line_numbers(settings)
    assert set(numbers) == set(range(LINES)), f"lost: {sorted(set(range(LINES)) - set(numbers))[:20]}"
    assert [n for n, seen in numbers.items() if seen > 1] == []
    assert sum(numbers.values()) == LINES


async def processed_more(processor: Processor, than: int) -> bool:
    return processor.records_in > than


@contextlib.asynccontextmanager
async def producing(settings: Settings) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(produce_slowly(settings))
    try:
        yield task
    finally:
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.timeout(300)
async def test_a_second_processor_joins_then_the_first_leaves_and_every_line_is_stored_once(
    pipeline_settings: Settings,
) -> None:
    settings = pipeline_settings
    first, second = Processor(settings), Processor(settings)
    async with producing(settings) as producer, contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(running(Indexer(settings)))
        first_only = contextlib.AsyncExitStack()
        stack.push_async_callback(first_only.aclose)
        await first_only.enter_async_context(running(first))
        assert await wait_for(lambda: processed_more(first, 4), within=60, interval=0.2)

        await stack.enter_async_context(running(second))
        at_join = first.records_in
        # Both members hold partitions and go on processing (the group rebalanced, it did not stall).
        assert await wait_for(lambda: processed_more(second, 4), within=60, interval=0.2), "the second got nothing"
        assert await wait_for(lambda: processed_more(first, at_join), within=60, interval=0.2), "the first stalled"

        await first_only.aclose()  # the first leaves gracefully: its partitions go to the second
        at_leave = second.records_in
        assert not producer.done(), "the stream ended before the first member left: nothing was rebalanced"
        await producer
        assert await wait_for(lambda: processed_more(second, at_leave), within=60, interval=0.2)
        await assert_every_line_once(settings)
    records = LINES // PER_RECORD
    print(f"\nrebalance join/leave: first={first.records_in} second={second.records_in} of {records} records")
    assert first.records_in + second.records_in >= records


def scrape_records_in(port: int) -> int:
    """``logfleet_processor_records_in_total`` of a processor process (0 while it serves nothing)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return 0
    found = re.search(r"^logfleet_processor_records_in_total (\d+)", text, re.MULTILINE)
    return int(found.group(1)) if found else 0


@pytest.mark.timeout(300)
async def test_a_member_killed_mid_stream_is_replaced_and_every_line_is_stored_once(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    settings = pipeline_settings
    survivor, replacement = Processor(settings), Processor(settings)
    port = free_port()
    log_path = tmp_path / "processor.log"
    async with producing(settings) as producer, running(Indexer(settings), survivor):
        assert await wait_for(lambda: processed_more(survivor, 4), within=60, interval=0.2)
        victim = spawn_cli(settings, "processor", "run", log_path=log_path, LOGFLEET_METRICS_PORT=str(port))
        try:

            async def victim_processed() -> int:
                return await asyncio.to_thread(scrape_records_in, port)

            assert await wait_for(victim_processed, within=60, interval=0.5), log_path.read_text()[-2000:]
        finally:
            victim.send_signal(signal.SIGKILL)
            victim.wait()
        at_kill = survivor.records_in
        # The broker drops the dead member once its heartbeats have stopped for session_timeout_ms;
        # the replacement joins whenever it comes, and the group rebalances among the living.
        async with running(replacement):
            assert await wait_for(lambda: processed_more(replacement, 0), within=90, interval=0.5)
            await producer
            await assert_every_line_once(settings)
    print(
        f"\nrebalance kill -9: survivor={survivor.records_in} (at kill {at_kill}) "
        f"replacement={replacement.records_in} records of {LINES // PER_RECORD}"
    )
