"""The pipeline at a glance: shipper checkpoints, topic health, consumer-group lag, recent documents,
dead letters.

:func:`gather` reads each part on its own and never lets one unreachable server hide the others:
every section carries ``ok`` (it could be read) and, when not, ``error`` with one line saying why.
Nothing here joins a consumer group or writes anything: lag is end offsets (a consumer without a
group) minus committed offsets (the admin client's OffsetFetch), computed as the daemons compute
their own lag gauge (``logfleet/clients/lag.py``); topic health is the cluster's own view of each pipeline
topic (replication, under-replicated and offline partitions); documents are ``_search`` counts.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from logfleet.clients import kafka, search
from logfleet.clients.lag import partition_lags
from logfleet.core import security
from logfleet.core.bulkbody import data_stream, deadletter_stream
from logfleet.core.config import Settings
from logfleet.core.errors import LogfleetError, NoData
from shipper import checkpoints as shipper_checkpoints

KAFKA_TIMEOUT_S = 15.0
_BACKING = re.compile(r"^\.ds-(?P<stream>.+?)(?:-\d{4}\.\d{2}\.\d{2})?-\d+$")  # Elasticsearch dates them


def checkpoints(settings: Settings, now: float | None = None) -> dict[str, Any]:
    """The shipper's checkpoints on this host, one entry per container, with their age in seconds
    (read through the shipper's own checkpoint store, which owns the file's format)."""
    path = shipper_checkpoints.path_in(settings.state_dir)
    section: dict[str, Any] = {"ok": True, "host": settings.host_name, "file": str(path), "containers": []}
    if not path.exists():
        section["note"] = "no checkpoint file (no shipper ran on this host with this state_dir)"
        return section
    try:
        entries = shipper_checkpoints.CheckpointStore(path).entries()
    except (OSError, ValueError) as exc:
        return {**section, "ok": False, "error": f"cannot read {path}: {exc}"}
    now = time.time() if now is None else now
    section["containers"] = [
        {"container_id": e.container_id, "state": e.state, "last_line_ts_ns": e.last_line_ts_ns,
         "checkpoint_written_at": e.written_at, "age_s": None if e.written_at is None else round(now - e.written_at, 3)}
        for e in entries
    ]
    return section


async def topic_health(settings: Settings) -> dict[str, Any]:
    """Each pipeline topic: partitions, replication factor, min.insync.replicas, and the partitions
    that are under-replicated (fewer in-sync replicas than replicas) or offline (no leader)."""
    try:
        async with kafka.admin(settings, "logfleet-status") as client:
            states = await asyncio.wait_for(kafka.describe(client, kafka.pipeline_topics(settings)), KAFKA_TIMEOUT_S)
    except (LogfleetError, KafkaError, OSError, TimeoutError) as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        return {"ok": False, "error": f"Kafka at {settings.kafka_bootstrap}: {why}"}
    topics: list[dict[str, Any]] = []
    for name in kafka.pipeline_topics(settings):
        state = states.get(name)
        topics.append({"topic": name, "exists": False} if state is None else {
            "topic": name, "exists": True, "partitions": state.partitions,
            "replication_factor": state.replication_factor, "min_insync_replicas": state.min_insync_replicas,
            "under_replicated": state.under_replicated, "offline": state.offline})
    present = [states[name] for name in states]
    return {"ok": True, "topics": topics, "under_replicated": sum(len(s.under_replicated) for s in present),
            "offline": sum(len(s.offline) for s in present)}


async def consumer_lag(settings: Settings) -> dict[str, Any]:
    """Lag of the processor group on the raw topic and of the indexer group on events and dead letters."""
    stages = [
        ("processor", settings.processor_group, [settings.topic_raw]),
        ("indexer", settings.indexer_group, [settings.topic_events, settings.topic_dlq]),
    ]
    try:
        result = await asyncio.wait_for(_lag(settings, stages), KAFKA_TIMEOUT_S)
    except (LogfleetError, KafkaError, OSError, TimeoutError) as exc:
        why = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        if isinstance(exc, LogfleetError):  # kafka.admin says which server and why
            return {"ok": False, "error": why}
        return {"ok": False, "error": f"Kafka at {settings.kafka_bootstrap} unreachable: {why}"}
    return {"ok": True, "stages": result}


async def _lag(settings: Settings, stages: list[tuple[str, str, list[str]]]) -> list[dict[str, Any]]:
    offsets = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                               client_id="logfleet-status", **security.kafka_options(settings))  # joins no group
    async with kafka.admin(settings, "logfleet-status") as admin:
        try:
            await offsets.start()
            # kafka.describe names only topics the cluster lists: asking for a missing one would create it
            states = await kafka.describe(admin, [t for _, _, topics in stages for t in topics])
            partitions = {name: list(range(state.partitions)) for name, state in states.items()}
            out = []
            for stage, group, topics in stages:
                tps = [TopicPartition(topic, p) for topic in topics for p in partitions.get(topic, [])]
                committed = await admin.list_consumer_group_offsets(group, partitions=tps) if tps else {}
                ends = await offsets.end_offsets(tps) if tps else {}
                starts = await offsets.beginning_offsets(tps) if tps else {}
                offsets_of = {tp: meta.offset for tp, meta in committed.items() if meta is not None}
                rows = [row.as_json() for row in partition_lags(tps, ends, starts, offsets_of)]
                out.append(
                    {
                        "stage": stage,
                        "group": group,
                        "missing_topics": [t for t in topics if t not in partitions],
                        "partitions": rows,
                        "lag": sum(r["lag"] for r in rows),
                    }
                )
            return out
        finally:
            await offsets.stop()


def stream_of(index: str) -> str:
    """The data stream a backing index belongs to (Elasticsearch ``.ds-logs-web-prod-2024.05.01-000001``,
    OpenSearch ``.ds-logs-web-prod-000001``)."""
    found = _BACKING.match(index)
    return found.group("stream") if found else index


async def documents(settings: Settings, minutes: int) -> dict[str, Any]:
    """Documents per data stream of the namespace whose @timestamp is within the last ``minutes``."""
    section: dict[str, Any] = {"ok": True, "namespace": settings.namespace, "minutes": minutes}
    pattern = data_stream("*", settings.namespace)
    recent = {"range": {"@timestamp": {"gte": f"now-{minutes}m"}}}
    streams: dict[str, int] = {}
    try:
        async with search.connect(settings, request_timeout=15) as engine:
            # Listing, then one count per index: a terms aggregation on _index is not supported everywhere
            # (the local stand-in answers it with no buckets). A real server lists backing indices.
            for index in await engine.indices(pattern):
                name = stream_of(index)
                streams[name] = streams.get(name, 0) + await engine.count(index, recent)
    except NoData:
        pass
    except LogfleetError as exc:
        return {**section, "ok": False, "error": str(exc)}
    deadletter = deadletter_stream(settings.namespace)
    section["streams"] = [{"data_stream": name, "documents": count} for name, count in sorted(streams.items())]
    section["documents"] = sum(c for n, c in streams.items() if n != deadletter)
    section["dead_letters"] = streams.get(deadletter, 0)
    return section


async def gather(settings: Settings, minutes: int = 15) -> dict[str, Any]:
    """Every section of the status report; ``unreachable`` lists the sections that could not be read."""
    topics, lag, docs = await asyncio.gather(topic_health(settings), consumer_lag(settings),
                                             documents(settings, minutes))
    report: dict[str, Any] = {"checkpoints": checkpoints(settings), "topics": topics, "lag": lag, "documents": docs}
    report["unreachable"] = [name for name, section in report.items() if not section["ok"]]
    return report


def render_table(report: dict[str, Any]) -> str:
    """The report as plain-text tables, one block per section."""
    lines: list[str] = []
    cp = report["checkpoints"]
    lines.append(f"SHIPPER CHECKPOINTS  host {cp['host']}  ({cp['file']})")
    if not cp["ok"]:
        lines.append(f"  UNREADABLE: {cp['error']}")
    elif not cp["containers"]:
        lines.append(f"  {cp.get('note', 'no containers')}")
    else:
        lines.append(f"  {'CONTAINER':<14} {'STATE':<10} {'AGE':>10}  LAST LINE")
        for c in cp["containers"]:
            age = "-" if c["age_s"] is None else _duration(c["age_s"])
            last = _iso(c["last_line_ts_ns"])
            lines.append(f"  {c['container_id'][:12]:<14} {c['state']:<10} {age:>10}  {last}")
    lines.append("")
    lines += _topic_lines(report["topics"])
    lines.append("")
    lag = report["lag"]
    lines.append("CONSUMER LAG")
    if not lag["ok"]:
        lines.append(f"  UNREACHABLE: {lag['error']}")
    else:
        head = ("STAGE", "GROUP", "TOPIC", "PART", "END", "COMMITTED", "LAG")
        lines.append("  {:<10} {:<24} {:<20} {:>4} {:>10} {:>10} {:>8}".format(*head))
        for stage in lag["stages"]:
            for topic in stage["missing_topics"]:
                lines.append(f"  {stage['stage']:<10} {stage['group']:<24} {topic:<20} topic missing")
            for r in stage["partitions"]:
                committed = "-" if r["committed"] is None else str(r["committed"])
                lines.append(
                    f"  {stage['stage']:<10} {stage['group']:<24} {r['topic']:<20} {r['partition']:>4} "
                    f"{r['end_offset']:>10} {committed:>10} {r['lag']:>8}"
                )
            lines.append(f"  {stage['stage']:<10} total lag {stage['lag']}")
    lines.append("")
    docs = report["documents"]
    lines.append(f"DOCUMENTS  namespace {docs['namespace']}, last {docs['minutes']} min")
    if not docs["ok"]:
        lines.append(f"  UNREACHABLE: {docs['error']}")
    else:
        if not docs["streams"]:
            lines.append("  no documents in the window")
        for s in docs["streams"]:
            lines.append(f"  {s['data_stream']:<50} {s['documents']:>10}")
        lines.append(f"  {'dead letters':<50} {docs['dead_letters']:>10}")
    return "\n".join(lines) + "\n"


def _topic_lines(section: dict[str, Any]) -> list[str]:
    lines = ["KAFKA TOPICS"]
    if not section["ok"]:
        return [*lines, f"  UNREACHABLE: {section['error']}"]
    lines.append(f"  {'TOPIC':<24} {'PARTS':>5} {'RF':>3} {'MIN-ISR':>7}  UNDER-REPLICATED  OFFLINE")
    for t in section["topics"]:
        if not t["exists"]:
            lines.append(f"  {t['topic']:<24} topic missing")
            continue
        min_isr = "-" if t["min_insync_replicas"] is None else str(t["min_insync_replicas"])
        under = ",".join(map(str, t["under_replicated"])) or "-"
        offline = ",".join(map(str, t["offline"])) or "-"
        lines.append(f"  {t['topic']:<24} {t['partitions']:>5} {t['replication_factor']:>3} {min_isr:>7}  "
                     f"{under:<16}  {offline}")
    return lines


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def _iso(ts_ns: Any) -> str:
    if not isinstance(ts_ns, int):
        return "-"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts_ns / 1e9)) + f".{ts_ns % 10**9 // 10**6:03d}Z"
