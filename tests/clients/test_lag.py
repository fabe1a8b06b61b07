"""The consumer-lag gauge the processor and the indexer serve on /metrics, against real Kafka.

A processor whose events topic refuses its records (``max.message.bytes`` too small: every batch
fails and is retried, nothing is committed) shows the whole backlog as lag; a healthy processor of
the same group then catches up and shows 0, as ``logfleet status`` does. An indexer that stored
every event shows 0 on both of its topics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import urllib.request
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from indexer.daemon import Indexer
from logfleet.clients import kafka
from logfleet.core.config import Settings
from logfleet.core.metrics import MetricsServer
from logfleet.core.model import encode_raw
from logfleet.devstack.ports import free_port
from logfleet.ops.status import consumer_lag
from processor.daemon import Processor
from tests.support import docs_reach, produce_events, running, wait_for

pytestmark = [pytest.mark.servers]
RECORDS = 12


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return str(answer.read().decode())


async def _gauge(port: int, name: str, topic: str) -> float | None:
    """The value of ``logfleet_<name>{topic="<topic>"}`` on the metrics port, or None when not served."""
    text = await asyncio.to_thread(_scrape, port)
    found = re.search(rf'^logfleet_{name}\{{topic="{re.escape(topic)}"\}} (\S+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def _produce_raw(settings: Settings, count: int) -> None:
    async with kafka.producer(settings) as producer:
        futures = []
        for n in range(count):
            cid = f"{n:02d}" * 32
            meta = {"id": cid, "name": f"lag-{n}", "image": "busybox"}
            lines = [[1_790_000_000 * 10**9 + i, 0, "stdout", f"line {i} of record {n}", []] for i in range(50)]
            futures.append(await producer.send(settings.topic_raw, encode_raw("h", meta, lines), key=cid.encode()))
        await asyncio.gather(*futures)


async def _small_topic(settings: Settings, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs={"max.message.bytes": "200"})])
    finally:
        await admin.close()


async def test_processor_lag_is_the_backlog_while_stuck_and_zero_once_caught_up(pipeline_settings: Settings) -> None:
    settings = pipeline_settings
    await _produce_raw(settings, RECORDS)
    refused = f"{settings.topic_events}-small-{uuid.uuid4().hex[:4]}"
    await _small_topic(settings, refused)

    stuck = Processor(dataclasses.replace(settings, topic_events=refused))
    stuck.lag.interval_s = 0.5
    port = free_port()
    async with MetricsServer(port, [stuck], host="127.0.0.1"), running(stuck):
        seen = await wait_for(lambda: _gauge(port, "processor_consumer_lag_records", settings.topic_raw), within=60)
        # every record is still there to process: nothing was committed
        held = await wait_for(
            lambda: _equals(port, "processor", settings.topic_raw, RECORDS), within=60
        )
    assert seen is not None, "no lag gauge on /metrics"
    assert held, "the lag of a processor that commits nothing is not the whole backlog"
    assert stuck.records_in == 0

    healthy = Processor(settings)
    healthy.lag.interval_s = 0.5
    port = free_port()
    async with MetricsServer(port, [healthy], host="127.0.0.1"), running(healthy):
        caught_up = await wait_for(lambda: _equals(port, "processor", settings.topic_raw, 0), within=90)
        status = await consumer_lag(settings)
    assert caught_up, "lag did not reach 0 after the processor caught up"
    assert healthy.records_in == RECORDS
    processor_stage = next(s for s in status["stages"] if s["stage"] == "processor")
    assert processor_stage["lag"] == 0  # logfleet status, sharing the computation, agrees


async def _equals(port: int, stage: str, topic: str, want: int) -> bool:
    return await _gauge(port, f"{stage}_consumer_lag_records", topic) == want


async def test_indexer_serves_zero_lag_on_both_topics_after_storing_everything(pipeline_settings: Settings) -> None:
    settings = pipeline_settings
    await produce_events(settings, 600, "lagidx", per_record=100)
    indexer = Indexer(settings)
    indexer.lag.interval_s = 0.5
    port = free_port()
    async with MetricsServer(port, [indexer], host="127.0.0.1"), running(indexer):
        stored = await wait_for(lambda: docs_reach(settings, 600), within=90)
        events_zero = await wait_for(lambda: _equals(port, "indexer", settings.topic_events, 0), within=60)
        dlq_zero = await _equals(port, "indexer", settings.topic_dlq, 0)
    assert stored == 600
    assert events_zero and dlq_zero
