"""Kafka clients configured the way logfleet needs them, and errors translated at the boundary.

Producers use ``acks=all`` with idempotence, so a retried send never duplicates a record in Kafka;
consumers commit by hand, only after downstream acknowledged what they read. aiokafka's errors
become :class:`~logfleet.core.errors.KafkaUnreachable`, :class:`~logfleet.core.errors.AuthError` (credentials
refused, or an ACL that does not allow the operation) or :class:`~logfleet.core.errors.DeliveryError`.
aiokafka reports a refused SASL login or an untrusted certificate only as "unable to bootstrap"; when
a client cannot start, one direct connection to the first bootstrap server tells which it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ssl
from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.conn import create_conn
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
    UnsupportedSaslMechanismError,
    for_code,
)

from logfleet.core import security
from logfleet.core.config import Settings
from logfleet.core.errors import AuthError, DeliveryError, KafkaUnreachable, UntrustedCertificate
from logfleet.core.retry import backoff
from logfleet.core.telemetry import get_logger

log = get_logger("kafka")
MAX_REQUEST_BYTES = 16 * 1024 * 1024
TOPIC_CONFIG = {"max.message.bytes": str(MAX_REQUEST_BYTES), "retention.ms": str(7 * 24 * 3600 * 1000)}


NOT_AUTHORIZED = (TopicAuthorizationFailedError, GroupAuthorizationFailedError, ClusterAuthorizationFailedError,
                  TransactionalIdAuthorizationFailed)


def refused(exc: KafkaError, settings: Settings, what: str) -> AuthError:
    """The project's error for an operation an ACL does not allow (``exc`` one of NOT_AUTHORIZED)."""
    who = f"user {settings.kafka_sasl_username!r}" if settings.kafka_sasl_username else "this client"
    return AuthError(f"Kafka at {settings.kafka_bootstrap} refused {who} ({what}): {exc}; "
                     "its ACLs do not allow this (see SECURITY.md)")


async def diagnose(settings: Settings, what: str, exc: Exception) -> Exception:
    """Why a client could not bootstrap: refused credentials (AuthError), an untrusted certificate or
    an unreachable server (KafkaUnreachable), found by one direct connection to the first server."""
    host, _, port = settings.kafka_bootstrap.split(",")[0].strip().rpartition(":")
    try:
        conn = await create_conn(host or "127.0.0.1", int(port), client_id="logfleet-diagnose",
                                 request_timeout_ms=10_000, **security.kafka_options(settings))
        conn.close()
    except (SaslAuthenticationFailed, UnsupportedSaslMechanismError) as found:
        return AuthError(f"Kafka at {settings.kafka_bootstrap} refused the credentials of user "
                         f"{settings.kafka_sasl_username!r} ({settings.kafka_sasl_mechanism}): {found}")
    except ssl.SSLCertVerificationError as found:
        return UntrustedCertificate(f"Kafka at {settings.kafka_bootstrap}: its TLS certificate is not trusted "
                                    f"({found.verify_message}); check kafka_ssl_cafile")
    except (TimeoutError, KafkaError, OSError, ValueError):
        pass
    return KafkaUnreachable(f"Kafka at {settings.kafka_bootstrap} unreachable ({what}): {exc}")


async def _start(client: Any, what: str, settings: Settings, attempts: int) -> None:
    """Start a client, retrying an unreachable cluster ``attempts`` times with backoff; refused
    credentials, an untrusted certificate and a refused operation end at once. A client that did not
    start is closed again (aiokafka leaves its connections open otherwise)."""
    close = client.close if isinstance(client, AIOKafkaAdminClient) else client.stop
    for attempt in range(attempts):
        try:
            await client.start()
            return
        except KafkaConnectionError as exc:
            with contextlib.suppress(KafkaError):
                await close()
            found = await diagnose(settings, what, exc)
            if attempt == attempts - 1 or isinstance(found, (AuthError, UntrustedCertificate)):
                raise found from exc
            await asyncio.sleep(backoff(attempt, cap=10.0))
        except NOT_AUTHORIZED as exc:
            with contextlib.suppress(KafkaError):
                await close()
            raise refused(exc, settings, what) from exc


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
    await _start(client, "producer", settings, attempts)
    try:
        yield client
    except NOT_AUTHORIZED as exc:
        raise refused(exc, settings, "producing") from exc
    finally:
        with contextlib.suppress(KafkaError):
            await client.stop()


@contextlib.asynccontextmanager
async def consumer(
    settings: Settings, topics: list[str], group_id: str, attempts: int = 1, **overrides: Any
) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer-group member with manual commits, started and stopped around the block.

    A member that stops heartbeating (killed) leaves the group after ``session_timeout_ms``; one that
    stops cleanly leaves at once. ``max_poll_interval_ms`` bounds the time between two reads: a batch
    whose downstream is down longer than that (Elasticsearch away for minutes) makes this member
    leave the group and rejoin when it reads again, so its partitions are not held by a stuck member.
    """
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
    await _start(client, "consumer", settings, attempts)
    try:
        yield client
    except NOT_AUTHORIZED as exc:
        raise refused(exc, settings, f"consuming {', '.join(topics)} as group {group_id}") from exc
    finally:
        with contextlib.suppress(KafkaError):
            await client.stop()


@dataclasses.dataclass(frozen=True)
class TopicState:
    """One pipeline topic as the cluster has it: partitions, replication and partition health."""

    name: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int | None
    under_replicated: list[int]  # partitions whose in-sync replicas are fewer than their replicas
    offline: list[int]  # partitions without a leader


@contextlib.asynccontextmanager
async def admin(settings: Settings, client_id: str = "logfleet-admin") -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client, started and closed around the block (unreachable -> KafkaUnreachable)."""
    client = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, client_id=client_id, **security.kafka_options(settings)
    )
    await _start(client, "admin", settings, 1)
    try:
        yield client
    finally:
        await client.close()


def pipeline_topics(settings: Settings) -> tuple[str, str, str]:
    """The raw, events and dead-letter topic names."""
    return settings.topic_raw, settings.topic_events, settings.topic_dlq


async def broker_count(client: AIOKafkaAdminClient) -> int:
    """How many brokers the cluster has registered now."""
    return len((await client.describe_cluster())["brokers"])


async def describe(client: AIOKafkaAdminClient, names: Iterable[str]) -> dict[str, TopicState]:
    """The state of the named topics that exist (missing ones are left out, and not auto-created:
    only topics the cluster lists are described)."""
    listed = set(await client.list_topics())
    wanted = [name for name in names if name in listed]
    if not wanted:
        return {}
    found = {t["topic"]: t for t in await client.describe_topics(wanted) if t["error_code"] == 0}
    if not found:
        return {}
    answers = await client.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name, {"min.insync.replicas": None}) for name in found])
    min_isr: dict[str, int] = {}
    for answer in answers:
        for resource in answer.to_object()["resources"]:
            for entry in resource["config_entries"]:
                if entry["config_names"] == "min.insync.replicas" and entry["config_value"] is not None:
                    min_isr[resource["resource_name"]] = int(entry["config_value"])
    states: dict[str, TopicState] = {}
    for name, topic in found.items():
        parts = topic["partitions"]
        states[name] = TopicState(
            name=name,
            partitions=len(parts),
            replication_factor=min((len(p["replicas"]) for p in parts), default=0),
            min_insync_replicas=min_isr.get(name),
            under_replicated=sorted(p["partition"] for p in parts if len(p["isr"]) < len(p["replicas"])),
            offline=sorted(p["partition"] for p in parts if p["leader"] < 0),
        )
    return states


async def ensure_topics(settings: Settings) -> list[str]:
    """Create the raw, events and dead-letter topics if missing; returns lines saying what was done.

    Topics get ``topic_partitions`` partitions, ``topic_replication_factor`` replicas and
    ``min.insync.replicas`` = ``topic_min_insync_replicas`` (with ``acks=all`` a write is acknowledged
    only once that many replicas have it). A cluster with fewer brokers than the factor gets what it
    allows, said in one line; an existing topic that differs from the settings is reported, never
    changed behind the operator's back.
    """
    lines: list[str] = []
    async with admin(settings, "logfleet-setup") as client:
        try:
            brokers = await broker_count(client)
            factor = min(settings.topic_replication_factor, brokers)
            min_isr = min(settings.topic_min_insync_replicas, factor)
            if factor < settings.topic_replication_factor:
                lines.append(f"kafka: {brokers} broker(s), fewer than topic_replication_factor "
                             f"{settings.topic_replication_factor}: new topics get replication factor {factor} "
                             f"and min.insync.replicas {min_isr}")
            existing = await describe(client, pipeline_topics(settings))
            for name in pipeline_topics(settings):
                state = existing.get(name)
                if state is not None:
                    lines.append(f"kafka: topic {name} exists" + _differences(state, settings, factor, min_isr))
                    continue
                config = {**TOPIC_CONFIG, "min.insync.replicas": str(min_isr)}
                topic = NewTopic(name, settings.topic_partitions, factor, topic_configs=config)
                answer = (await client.create_topics([topic])).to_object()
                for result in answer["topic_errors"]:
                    error = for_code(result["error_code"])
                    if error is TopicAlreadyExistsError:  # created meanwhile by another setup
                        lines.append(f"kafka: topic {name} exists")
                    elif result["error_code"]:
                        raise error(result.get("error_message") or f"creating topic {name}")
                    else:
                        lines.append(f"kafka: created topic {name} ({settings.topic_partitions} partitions, "
                                     f"replication factor {factor}, min.insync.replicas {min_isr})")
        except KafkaError as exc:
            raise DeliveryError(f"creating topics failed: {exc}") from exc
    return lines


def _differences(state: TopicState, settings: Settings, factor: int, min_isr: int) -> str:
    found = []
    if state.partitions != settings.topic_partitions:
        found.append(f"{state.partitions} partitions, settings say {settings.topic_partitions}")
    if state.replication_factor != factor:
        found.append(f"replication factor {state.replication_factor}, settings say {factor}")
    if state.min_insync_replicas is not None and state.min_insync_replicas != min_isr:
        found.append(f"min.insync.replicas {state.min_insync_replicas}, settings say {min_isr}")
    return f", but DIFFERS: {'; '.join(found)} (left as it is)" if found else ""


async def read_all(settings: Settings, topic: str) -> list[Any]:
    """Every record of a topic from its beginning to its end as of now, outside any consumer group
    (for checks and benchmarks that count what arrived)."""
    async with admin(settings) as meta:
        state = (await describe(meta, [topic])).get(topic)
    if state is None:
        raise DeliveryError(f"topic {topic} does not exist")
    client = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **security.kafka_options(settings),
    )
    await _start(client, "reader", settings, 1)
    try:
        partitions = [TopicPartition(topic, p) for p in range(state.partitions)]
        client.assign(partitions)
        ends = await client.end_offsets(partitions)
        await client.seek_to_beginning(*partitions)
        records: list[Any] = []
        while [tp for tp in partitions if await client.position(tp) < ends[tp]]:
            for part in (await client.getmany(*partitions, timeout_ms=1000)).values():
                records.extend(part)
        return records
    except NOT_AUTHORIZED as exc:
        raise refused(exc, settings, f"reading {topic}") from exc
    except KafkaError as exc:
        raise DeliveryError(f"reading {topic} failed: {exc}") from exc
    finally:
        await client.stop()
