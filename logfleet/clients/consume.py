"""The consume loop the processor and the indexer share: read a batch, hand it on, commit after.

Offsets are committed explicitly, per partition, only after the handler returned, that is after
everything downstream acknowledged the batch. A handler that raises leaves the batch uncommitted;
the loop then seeks back to the last committed offsets and reads it again. A commit refused because
the group rebalanced meanwhile is logged and the loop goes on: the member rejoins, and whoever owns
those partitions now reads the batch again from the last commit (deterministic event ids make that
harmless downstream).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from logfleet.core.retry import backoff
from logfleet.core.telemetry import get_logger

Handler = Callable[[list[Any]], Coroutine[Any, Any, None]]
log = get_logger("consume")
POLL_S = 0.5  # how long one read waits for records; also how soon a stop is noticed when idle


async def consume_batches(
    consumer: AIOKafkaConsumer,
    handle: Handler,
    stopping: asyncio.Event,
    *,
    max_records: int = 50,
    gather_s: float = 0.0,
    gather_weight: int = 0,
    weigh: Callable[[Any], int] | None = None,
) -> None:
    """Run until ``stopping`` is set: getmany, handle, commit; the next batch is read meanwhile.

    A record carries up to ``batch_lines`` lines (1,000 by default), so ``max_records`` bounds what
    one read returns: 50 records are at most 50,000 lines. While one batch is handled the next one
    is read (two batches in hand at most), so the handler's downstream (Kafka acks, Elasticsearch
    ``_bulk``) does not wait for the fetch round trip; batches are still handled one at a time and
    committed in order.

    With ``gather_s`` the loop keeps reading for up to that long, until the records in hand weigh
    ``gather_weight`` (``weigh(record)`` each, 1 without it), so the handler gets fuller batches (the
    indexer's bulk requests, weighed in documents).
    """
    attempt = 0
    in_hand: tuple[list[Any], asyncio.Task[None]] | None = None  # handled while the next batch is read
    try:
        while not stopping.is_set():
            records = await _gather(consumer, stopping, max_records, gather_s, gather_weight, weigh)
            if in_hand is not None:
                handled, task = in_hand
                in_hand = None
                if not await _settle(consumer, handled, task):
                    delay = backoff(attempt)
                    attempt += 1
                    log.warning("batch_failed", error=str(task.exception()), records=len(handled),
                                retry_in=round(delay, 2))
                    await _rewind(consumer)  # the batch just read is dropped too: the rewind reads it again
                    await asyncio.sleep(delay)
                    continue
                attempt = 0
            if records:
                in_hand = (records, asyncio.create_task(handle(records)))
        if in_hand is not None:
            handled, task = in_hand
            in_hand = None
            if not await _settle(consumer, handled, task):
                log.warning("batch_failed", error=str(task.exception()), records=len(handled), retry_in=None)
    finally:
        if in_hand is not None:
            in_hand[1].cancel()


async def _settle(consumer: AIOKafkaConsumer, records: list[Any], task: asyncio.Task[None]) -> bool:
    """Wait for the handling of ``records`` and commit it; False if the handler raised.

    The partitions are paused meanwhile, so that no more than two batches are ever in hand.
    """
    paused = consumer.assignment()
    consumer.pause(*paused)
    try:
        await asyncio.wait([task])
    finally:
        consumer.resume(*[tp for tp in paused if tp in consumer.assignment()])
    if task.cancelled():
        raise asyncio.CancelledError
    if task.exception() is not None:
        return False
    await _commit(consumer, records)
    return True


async def _commit(consumer: AIOKafkaConsumer, records: list[Any]) -> None:
    """Commit the offsets after ``records`` for the partitions this member still holds.

    A rebalance may have happened while the batch was handled. Partitions that went to another
    member are not committed here: their new owner reads them again from the last commit. A commit
    the broker refuses because the group moved on (``IllegalGeneration``, ``UnknownMemberId``,
    ``RebalanceInProgress``: CommitFailedError) is not an error of the batch either: aiokafka
    rejoins the group in the background, and whoever gets these partitions reads the batch again.
    Reading it again is harmless downstream (deterministic event ids), so the loop just goes on.
    """
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    held = consumer.assignment()
    lost = [tp for tp in offsets if tp not in held]
    for tp in lost:
        del offsets[tp]
    if lost:
        log.info("partitions_moved_before_commit", partitions=len(lost))
    if not offsets:
        return
    try:
        await consumer.commit(offsets)
    except CommitFailedError as exc:
        # aiokafka's message is a paragraph about max_poll_interval_ms; the broker's answer is the cause.
        log.warning("commit_failed_rebalance", error=str(exc.__cause__ or exc), partitions=len(offsets))
    except KafkaError as exc:
        # The next batch's commit covers these offsets too; until then a restart reads them again.
        log.warning("commit_failed", error=str(exc), partitions=len(offsets))


async def _gather(
    consumer: AIOKafkaConsumer,
    stopping: asyncio.Event,
    max_records: int,
    gather_s: float,
    want: int,
    weigh: Callable[[Any], int] | None,
) -> list[Any]:
    """The next batch: what one ``getmany`` returns within POLL_S, topped up for up to ``gather_s``
    until it weighs ``want``. The broker holds an empty fetch for ``fetch_max_wait_ms``, so an idle
    consumer waits in the broker, not in a loop here. When weighing, records are taken one at a time
    from what the client already fetched, so a batch stops at the record that reaches ``want``
    (a real broker hands over up to 16 MiB a partition per fetch: 50 records of the events topic
    can hold 25,000 documents, far more than one ``_bulk`` wants)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + gather_s
    records: list[Any] = []
    weight = 0
    while True:
        left = deadline - loop.time()
        wait = POLL_S if not records else max(0.0, left)
        take = 1 if want > 0 else max_records - len(records)
        batch = await consumer.getmany(timeout_ms=int(wait * 1000), max_records=take)
        for part in batch.values():
            records.extend(part)
            weight += sum(map(weigh, part)) if weigh is not None else len(part)
        full = len(records) >= max_records or (want > 0 and weight >= want)
        if stopping.is_set() or full or not records or deadline - loop.time() <= 0:
            return records


async def _rewind(consumer: AIOKafkaConsumer) -> None:
    for tp in consumer.assignment():
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
