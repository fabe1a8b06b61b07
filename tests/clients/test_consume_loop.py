"""The consume loop without any server (logfleet.testing.FakeConsumer): offsets are committed only
after the handler returned, and a batch whose handler failed is read again from the last commit."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import TopicPartition

from logfleet.clients.consume import consume_batches
from logfleet.testing import FakeConsumer

TP0, TP1 = TopicPartition("events", 0), TopicPartition("events", 1)


def consumer_of(count: int) -> FakeConsumer:
    return FakeConsumer({TP0: [b"a%d" % n for n in range(count)], TP1: [b"b%d" % n for n in range(count)]})


def stop_when_committed(consumer: FakeConsumer, stopping: asyncio.Event, count: int) -> None:
    def check() -> None:
        if consumer.committed_offsets == {TP0: count, TP1: count}:
            stopping.set()

    consumer.on_getmany = check


async def test_offsets_are_committed_only_after_the_handler_returned() -> None:
    consumer, stopping = consumer_of(20), asyncio.Event()
    stop_when_committed(consumer, stopping, 20)
    seen: list[tuple[bytes, dict[TopicPartition, int]]] = []

    async def handle(records: list[Any]) -> None:
        at_start = dict(consumer.committed_offsets)
        await asyncio.sleep(0.01)
        assert consumer.committed_offsets == at_start  # nothing of this batch is committed meanwhile
        seen.extend((r.value, at_start) for r in records)

    await asyncio.wait_for(consume_batches(consumer, handle, stopping, max_records=7), 5)
    assert sorted(v for v, _ in seen) == sorted([b"a%d" % n for n in range(20)] + [b"b%d" % n for n in range(20)])
    for value, committed in seen:  # a record was handled while its own offset was not yet committed
        tp, offset = (TP0 if value[:1] == b"a" else TP1), int(value[1:])
        assert committed.get(tp, 0) <= offset
    assert consumer.committed_offsets == {TP0: 20, TP1: 20}


async def test_a_failed_batch_is_read_again_from_the_last_commit() -> None:
    consumer, stopping = consumer_of(10), asyncio.Event()
    stop_when_committed(consumer, stopping, 10)
    handled: list[bytes] = []
    failures = [True]

    async def handle(records: list[Any]) -> None:
        if failures and any(r.value == b"a5" for r in records):
            failures.pop()
            raise RuntimeError("search engine said 503")
        handled.extend(r.value for r in records)

    await asyncio.wait_for(consume_batches(consumer, handle, stopping, max_records=4), 10)
    assert not failures, "the failing batch was never handled"
    assert consumer.seeks, "the loop did not rewind after the failure"
    assert set(handled) == {b"a%d" % n for n in range(10)} | {b"b%d" % n for n in range(10)}
    assert consumer.committed_offsets == {TP0: 10, TP1: 10}
    assert all(offsets[tp] <= 10 for offsets in consumer.commits for tp in offsets)


async def test_a_weighed_batch_stops_at_the_record_that_reaches_the_weight() -> None:
    consumer, stopping = consumer_of(30), asyncio.Event()
    stop_when_committed(consumer, stopping, 30)
    sizes: list[int] = []

    async def handle(records: list[Any]) -> None:
        sizes.append(sum(4 for _ in records))

    await asyncio.wait_for(consume_batches(consumer, handle, stopping, max_records=50, gather_s=0.05,
                                           gather_weight=10, weigh=lambda record: 4), 5)
    assert sizes and max(sizes) <= 12  # three records of 4 reach 10; never all 50 the client had
    assert sum(sizes) == 60 * 4
