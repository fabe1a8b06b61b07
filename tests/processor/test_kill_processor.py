"""kill -9 of the processor mid-stream loses no line, and what it produces again never becomes a
second document in Elasticsearch (events and dead letters alike).

Raw records are put on the raw topic at a steady pace (20,000 lines in 200 records from a strict and
a warn container, compliant and not) while a ``logfleet processor run`` process is killed with SIGKILL a few
times, each time soon after it has produced something, and restarted. Then the indexer writes it all
and every line must be in Elasticsearch exactly once: as an event, or (strict, non-compliant) as a
dead letter. 20,000 lines because the local stand-in server indexes only 1-2k documents a second.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import signal
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from indexer.daemon import Indexer
from logfleet.clients import search
from logfleet.core.config import Settings
from logfleet.core.model import encode_raw
from tests.support import count_docs, read_topic, running, spawn_cli, wait_for

pytestmark = [pytest.mark.servers]

LINES = 20_000
PER_RECORD = 100
PACE_S = 0.4  # one raw record every 400 ms: the stream lasts about 80 s, a restart takes about 20 s
BASE_NS = 1_790_000_000 * 10**9
CONTAINERS = {
    "strict": {"id": "a" * 64, "name": "kill-strict", "labels": {"logfleet.format": "strict"}},
    "warn": {"id": "b" * 64, "name": "kill-warn", "labels": {}},
}


def line_text(number: int) -> str:
    """Line ``number``: compliant JSON three times out of four, plain text otherwise."""
    if number % 4 == 3:
        return f"plain line {number}"
    return orjson.dumps(
        {
            "@timestamp": "2024-03-01T12:00:00.123Z",
            "log.level": "info",
            "message": f"line {number}",
            "service.name": "k",
        }
    ).decode()


def records() -> list[tuple[bytes, bytes]]:
    """(key, value) of every raw record: lines alternate between the two containers by record."""
    out = []
    for first in range(0, LINES, PER_RECORD):
        meta = CONTAINERS["strict" if (first // PER_RECORD) % 2 else "warn"]
        lines = [[BASE_NS + n, 0, "stdout", line_text(n), []] for n in range(first, first + PER_RECORD)]
        out.append((meta["id"].encode(), encode_raw("kill-host", meta, lines)))
    return out


def expected_dead_letters() -> int:
    strict_lines = [n for first in range(PER_RECORD, LINES, 2 * PER_RECORD) for n in range(first, first + PER_RECORD)]
    return sum(1 for n in strict_lines if n % 4 == 3)


async def produce_slowly(settings: Settings) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", max_request_size=16 << 20)
    await producer.start()
    try:
        for key, value in records():
            await (await producer.send(settings.topic_raw, value, key=key))
            await asyncio.sleep(PACE_S)
    finally:
        await producer.stop()


async def progress(settings: Settings) -> tuple[int, int]:
    """(offsets the processor group committed on the raw topic, the raw topic's end offsets), summed."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=settings.processor_group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(settings.topic_raw, p) for p in range(settings.topic_partitions)]
        ends = await consumer.end_offsets(partitions)
        committed = [await consumer.committed(tp) for tp in partitions]
        return sum(c or 0 for c in committed), sum(ends.values())
    finally:
        await consumer.stop()


async def produced(settings: Settings) -> int:
    """Records on the events and dead-letter topics so far."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in (settings.topic_events, settings.topic_dlq)
            for p in range(settings.topic_partitions)
        ]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


def spawn_processor(settings: Settings, log_path: Path) -> subprocess.Popen[bytes]:
    return spawn_cli(settings, "processor", "run", log_path=log_path, LOGFLEET_PROCESSOR_GROUP=settings.processor_group)


def line_numbers(records: list[Any]) -> collections.Counter[int]:
    """How often each line number is on the events and dead-letter topics."""
    seen: collections.Counter[int] = collections.Counter()
    for record in records:
        for line in record.value.splitlines()[1::2]:
            doc = orjson.loads(line)
            dead = doc["data_stream"]["dataset"] == "logfleet.deadletter"
            text = doc["event"]["original"] if dead else doc["message"]  # "line N" or "plain line N"
            seen[int(text.rsplit(" ", 1)[1])] += 1
    return seen


@pytest.mark.timeout(400)
async def test_kill_9_of_the_processor_loses_nothing_and_duplicates_nothing(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    settings = pipeline_settings
    log_path = tmp_path / "processor.log"
    rng = random.Random()
    producer = asyncio.create_task(produce_slowly(settings))
    processor = spawn_processor(settings, log_path)
    kills = 0
    try:
        while kills < 3 and not producer.done():
            before = await produced(settings)

            async def advanced(before: int = before) -> bool:
                return await produced(settings) > before

            # A restarted member waits for the dead one to be evicted from the group (about 20 s here).
            assert await wait_for(advanced, within=90, interval=0.2), "the processor produced nothing"
            await asyncio.sleep(rng.uniform(0.1, 1.0))
            processor.send_signal(signal.SIGKILL)
            processor.wait()
            kills += 1
            processor = spawn_processor(settings, log_path)
        await producer

        async def caught_up() -> bool:
            committed, end = await progress(settings)
            return end > 0 and committed >= end

        assert await wait_for(caught_up, within=120, interval=1), "the last processor did not catch up"
    finally:
        if not producer.done():
            producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer
        processor.send_signal(signal.SIGTERM)
        assert processor.wait(timeout=30) == 0, log_path.read_text()[-3000:]
    assert kills == 3, "the stream ended before the processor could be killed three times"

    out = await read_topic(settings, settings.topic_events) + await read_topic(settings, settings.topic_dlq)
    numbers = line_numbers(out)
    assert set(numbers) == set(range(LINES)), f"lost: {LINES - len(numbers)} lines"
    produced_again = sum(numbers.values()) - LINES
    print(f"\nprocessor kill -9: kills={kills} lines produced again={produced_again}")

    indexer = Indexer(settings)

    async def all_stored() -> int:
        count = await count_docs(settings)
        return count if count >= LINES else 0

    async with running(indexer):
        assert await wait_for(all_stored, within=240, interval=2) == LINES
    assert await count_docs(settings) == LINES  # exactly once: replays were 409s
    assert indexer.writer is not None
    assert indexer.writer.stats.created == LINES
    assert indexer.writer.stats.duplicates == produced_again
    dead = await count_docs_in(settings, f"logs-logfleet.deadletter-{settings.namespace}")
    assert dead == expected_dead_letters()


async def count_docs_in(settings: Settings, index: str) -> int:
    async with search.connect(settings) as engine:
        return await engine.count(index)
