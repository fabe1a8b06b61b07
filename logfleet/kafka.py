"""Kafka clients configured the way logfleet needs them, and errors translated at the boundary.

Producers use ``acks=all`` with idempotence, so a retried send never duplicates a record in Kafka;
consumers commit by hand, only after downstream acknowledged what they read. aiokafka's errors
become :class:`~logfleet.errors.KafkaUnreachable` or :class:`~logfleet.errors.DeliveryError`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.group import LeaveGroupRequest

from logfleet import security
from logfleet.config import Settings
from logfleet.errors import DeliveryError, KafkaUnreachable
from logfleet.telemetry import get_logger

log = get_logger("kafka")
MAX_REQUEST_BYTES = 16 * 1024 * 1024
GUARD_POLL_S = 0.2  # how often a consumer's group guard looks at its member id and join state
TOPIC_CONFIG = {"max.message.bytes": str(MAX_REQUEST_BYTES), "retention.ms": str(7 * 24 * 3600 * 1000)}


async def _start(client: Any, what: str, bootstrap: str, attempts: int) -> None:
    delay = 0.5
    for attempt in range(attempts):
        try:
            await client.start()
            return
        except KafkaConnectionError as exc:
            if attempt == attempts - 1:
                raise KafkaUnreachable(f"Kafka at {bootstrap} unreachable ({what}): {exc}") from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


@contextlib.asynccontextmanager
async def producer(settings: Settings, attempts: int = 1, **overrides: Any) -> AsyncIterator[AIOKafkaProducer]:
    """An idempotent ``acks=all`` producer, started and stopped around the block."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "compression_type": None if settings.compression == "none" else settings.compression,
        "max_request_size": MAX_REQUEST_BYTES,
        "max_batch_size": 1024 * 1024,
        "linger_ms": 5,
        "client_id": "logfleet",
        **security.kafka_options(settings),
    }
    options.update(overrides)
    client = AIOKafkaProducer(**options)
    await _start(client, "producer", settings.kafka_bootstrap, attempts)
    try:
        yield client
    finally:
        with contextlib.suppress(KafkaError):
            await client.stop()


@contextlib.asynccontextmanager
async def consumer(
    settings: Settings, topics: list[str], group_id: str, attempts: int = 1, **overrides: Any
) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer-group member with manual commits, started and stopped around the block."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "max_partition_fetch_bytes": MAX_REQUEST_BYTES,
        "fetch_max_bytes": 4 * MAX_REQUEST_BYTES,
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 3_000,
        "client_id": "logfleet",
        **security.kafka_options(settings),
    }
    options.update(overrides)
    client = AIOKafkaConsumer(*topics, **options)
    stuck_after_s = options["session_timeout_ms"] / 1000 * 2
    guard = asyncio.create_task(_guard_group(client, settings, group_id, stuck_after_s))
    try:
        await _start(client, "consumer", settings.kafka_bootstrap, attempts)
        try:
            yield client
        finally:
            with contextlib.suppress(KafkaError):
                await client.stop()
    finally:
        guard.cancel()
        await asyncio.gather(guard, return_exceptions=True)


async def _guard_group(client: AIOKafkaConsumer, settings: Settings, group_id: str, stuck_after_s: float) -> None:
    """Keep the group able to rebalance on a broker that never expires members, for the consumer's life.

    Two things leave a member behind that the local stand-in keeps for ever (a real broker drops a
    member that does not rejoin within the rebalance timeout, or whose heartbeats stop):

    - our own previous member id: when a commit or heartbeat is answered ``IllegalGeneration`` or
      ``UnknownMemberId`` (the stand-in answers a commit made during a rebalance with
      ``IllegalGeneration``), aiokafka forgets its member id and joins again as a new member. The
      old id stays in the group, may be its leader, and no rebalance completes again (measured: a
      second member joining or leaving stalled the group for minutes). The old id is sent a
      LeaveGroup as soon as it is replaced.
    - a member that was killed: see :func:`_evict_blockers`, used when this consumer has not
      completed a join for ``stuck_after_s``.
    """
    loop = asyncio.get_running_loop()
    known = ""
    unjoined_since = loop.time()
    while True:
        await asyncio.sleep(GUARD_POLL_S)
        coordinator = getattr(client, "_coordinator", None)
        if coordinator is None:
            continue
        member = str(coordinator.member_id or "")
        if known and member != known:
            await _leave_stale(client, coordinator, group_id, known)
        known = member
        if _joined(client):
            unjoined_since = loop.time()
        elif loop.time() - unjoined_since >= stuck_after_s:
            await _evict_blockers(settings, group_id, member, stuck_after_s)
            unjoined_since = loop.time()


def _joined(client: AIOKafkaConsumer) -> bool:
    """Whether the consumer holds an assignment from a completed join (possibly an empty one)."""
    state = client._subscription
    subscription = state.subscription
    return subscription is not None and subscription.assignment is not None and not state.reassignment_in_progress


async def _leave_stale(client: AIOKafkaConsumer, coordinator: Any, group_id: str, stale: str) -> None:
    """Send LeaveGroup for a member id this consumer no longer uses, through its own connection."""
    node = coordinator.coordinator_id
    if node is None:
        return  # no coordinator known now: the stuck-join fallback covers it
    try:
        await client._client.send(node, LeaveGroupRequest(group_id, stale))
        log.info("left_stale_member", group=group_id, member=stale[-12:])
    except KafkaError as exc:
        log.warning("leave_stale_failed", group=group_id, error=str(exc))


async def _evict_blockers(settings: Settings, group_id: str, own: str, after_s: float) -> None:
    """Unblock a group that a dead member keeps from ever completing a rebalance.

    A real broker drops a member whose heartbeats stop for ``session_timeout_ms``; the local
    stand-in never does, so after a ``kill -9`` the dead member stays the group's leader, never
    sends its assignment, and a restarted consumer waits for ever (measured: minutes, no end).
    When joining has not finished after two session timeouts, every other member is asked to
    leave the group: a live one simply rejoins at its next heartbeat, a dead one is gone. On a
    real broker a join never takes this long, so this does not fire.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, client_id="logfleet-unblock", **security.kafka_options(settings)
    )
    try:
        await admin.start()
        described = await admin.describe_consumer_groups([group_id])
        members = [m[0] for response in described for group in response.groups for m in group[5]]
        others = [member for member in members if member != own]
        coordinator = await admin.find_coordinator(group_id)
        for member in others:
            await admin._send_request_to_node(coordinator, LeaveGroupRequest(group_id, member))
        if others:
            log.warning("evicted_group_members", group=group_id, members=len(others), waited_s=after_s)
    except KafkaError as exc:
        log.warning("evict_failed", group=group_id, error=str(exc))
    finally:
        await admin.close()


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the raw, events and dead-letter topics if missing; returns the ones it created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, client_id="logfleet-setup", **security.kafka_options(settings)
    )
    try:
        await admin.start()
    except KafkaConnectionError as exc:
        raise KafkaUnreachable(f"Kafka at {settings.kafka_bootstrap} unreachable: {exc}") from exc
    created: list[str] = []
    try:
        existing = set(await admin.list_topics())
        for name in (settings.topic_raw, settings.topic_events, settings.topic_dlq):
            if name in existing:
                continue
            topic = NewTopic(name, settings.topic_partitions, 1, topic_configs=TOPIC_CONFIG)
            try:
                await admin.create_topics([topic])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
    except KafkaError as exc:
        raise DeliveryError(f"creating topics failed: {exc}") from exc
    finally:
        await admin.close()
    return created


async def read_all(settings: Settings, topic: str) -> list[Any]:
    """Every record of a topic from its beginning to its end as of now, outside any consumer group
    (for checks and benchmarks that count what arrived)."""
    client = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **security.kafka_options(settings),
    )
    try:
        await client.start()
        numbers = client.partitions_for_topic(topic)
        for _ in range(50):  # the metadata may not know the topic's partitions yet: ask again
            if numbers:
                break
            await client.topics()
            numbers = client.partitions_for_topic(topic)
            await asyncio.sleep(0.1)
        if not numbers:
            raise DeliveryError(f"topic {topic} has no partitions (does it exist?)")
        partitions = [TopicPartition(topic, p) for p in sorted(numbers)]
        client.assign(partitions)
        ends = await client.end_offsets(partitions)
        # Not seek_to_beginning: the stand-in broker now and then answers "earliest" with the end
        # offset. Offset 0 is the beginning of a topic nothing was deleted from; where retention
        # deleted the start, the consumer's reset policy (earliest) moves on to what is left.
        for tp in partitions:
            client.seek(tp, 0)
        records: list[Any] = []
        while [tp for tp in partitions if await client.position(tp) < ends[tp]]:
            for part in (await client.getmany(*partitions, timeout_ms=1000)).values():
                records.extend(part)
        return records
    except KafkaError as exc:
        raise DeliveryError(f"reading {topic} failed: {exc}") from exc
    finally:
        await client.stop()
