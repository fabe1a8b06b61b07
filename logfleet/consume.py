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
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from logfleet.telemetry import get_logger

Handler = Callable[[list[Any]], Awaitable[None]]
log = get_logger("consume")
IDLE_PAUSE_S = 0.1
IDLE_POLL_S = 0.01
BUSY_POLL_S = 0.5


async def consume_batches(
    consumer: AIOKafkaConsumer,
    handle: Handler,
    stopping: asyncio.Event,
    *,
    max_records: int = 50,
    gather_s: float = 0.0,
    max_gather_records: int = 0,
) -> None:
    """Run until ``stopping`` is set: getmany, handle, commit.

    A record carries up to ``batch_lines`` lines (1,000 by default), so ``max_records`` bounds what
    is in hand at once: 50 records are at most 50,000 lines.

    With ``gather_s`` the loop keeps reading for up to that long, until ``max_gather_records`` records
    are in hand, so the handler gets fuller batches (the indexer's bulk requests).
    """
    attempt = 0
    busy = False
    while not stopping.is_set():
        records = await _gather(consumer, stopping, max_records, gather_s, max_gather_records, busy)
        busy = bool(records)
        if not records:
            continue
        paused = consumer.assignment()
        consumer.pause(*paused)  # no fetching while the batch is handled (see _idle)
        try:
            await handle(records)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            attempt += 1
            delay = min(30.0, 0.5 * 2**attempt)
            log.warning("batch_failed", error=str(exc), records=len(records), retry_in=delay)
            await _rewind(consumer)
            await asyncio.sleep(delay)
            continue
        finally:
            consumer.resume(*[tp for tp in paused if tp in consumer.assignment()])
        attempt = 0
        await _commit(consumer, records)


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
    consumer: AIOKafkaConsumer, stopping: asyncio.Event, max_records: int, gather_s: float, want: int, busy: bool
) -> list[Any]:
    # After a batch, the partitions were paused: give the first fetch time to come back (BUSY_POLL_S)
    # before treating the topic as idle, or every batch would pay for an idle pause.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + gather_s
    records: list[Any] = []
    first_poll = BUSY_POLL_S if busy else IDLE_POLL_S
    while True:
        timeout = max(0.0, deadline - loop.time()) if records else first_poll
        batch = await consumer.getmany(timeout_ms=int(timeout * 1000), max_records=max_records)
        for part in batch.values():
            records.extend(part)
        if not records:
            await _idle(consumer)
        if stopping.is_set() or not records or loop.time() >= deadline or len(records) >= want:
            return records


async def _idle(consumer: AIOKafkaConsumer) -> None:
    """Stop fetching for a moment when there was nothing to read.

    Some brokers (the local stand-in among them) answer an empty fetch at once instead of holding
    it for ``fetch_max_wait_ms`` (measured: about 5,000 fetches a second on an idle topic), which
    turns an idle consumer into a busy loop. Polling briefly (IDLE_POLL_S), then pausing the
    partitions for IDLE_PAUSE_S bounds that to a few requests a second, at the cost of up to
    IDLE_PAUSE_S of extra latency for the first record after a quiet spell.
    """
    partitions = consumer.assignment()
    if not partitions:
        return
    consumer.pause(*partitions)
    try:
        await asyncio.sleep(IDLE_PAUSE_S)
    finally:
        consumer.resume(*[tp for tp in partitions if tp in consumer.assignment()])


async def _rewind(consumer: AIOKafkaConsumer) -> None:
    for tp in consumer.assignment():
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
