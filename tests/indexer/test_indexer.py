"""The indexer against each search engine (the Elasticsearch stand-in, a real OpenSearch): every event
exactly once, through kill -9 and a server outage; a rejected document is dead-lettered without holding
back its batch."""

from __future__ import annotations

import asyncio
import random
import signal
import uuid
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from indexer.daemon import Indexer
from logfleet.clients import search
from logfleet.core import deadletter
from logfleet.core.config import Settings
from logfleet.ops import provision
from tests.support import (
    SearchServer,
    count_docs,
    docs_reach,
    logfleet_cli,
    produce_events,
    running,
    spawn_cli,
    wait_for,
)

pytestmark = [pytest.mark.servers]


@pytest.mark.timeout(600)
async def test_kill_9_of_the_indexer_mid_stream_stores_every_event_exactly_once(
    engine_settings: Settings, tmp_path: Path
) -> None:
    settings = engine_settings
    events = 100_000
    container = f"idx-{uuid.uuid4().hex[:8]}"
    await produce_events(settings, events, container)
    rng = random.Random()
    log_path = tmp_path / "indexer.log"
    indexer = spawn_cli(settings, "indexer", "run", log_path=log_path)
    kills = 0
    try:
        for _ in range(3):
            await asyncio.sleep(rng.uniform(2.0, 6.0))
            indexer.send_signal(signal.SIGKILL)
            indexer.wait()
            kills += 1
            indexer = spawn_cli(settings, "indexer", "run", log_path=log_path)
        stored = await wait_for(lambda: docs_reach(settings, events, container), within=420, interval=2)
    finally:
        indexer.send_signal(signal.SIGTERM)
        indexer.wait(timeout=30)
    assert stored == events
    await asyncio.sleep(2)  # nothing more arrives: no event was stored twice under another id
    assert await count_docs(settings, container) == events
    print(f"\nindexer kill -9: kills={kills} events={events} documents={stored}")


@pytest.mark.timeout(300)
async def test_elasticsearch_stopped_for_20s_mid_stream_loses_and_duplicates_nothing(
    engine_settings: Settings, search_engine: SearchServer
) -> None:
    settings = engine_settings
    events = 10_000
    container = f"outage-{uuid.uuid4().hex[:8]}"
    await produce_events(settings, events, container)
    indexer = Indexer(settings)
    async with running(indexer):
        await wait_for(lambda: docs_reach(settings, 1, container), within=60, interval=0.2)
        search_engine.stop()
        try:
            await asyncio.sleep(20)
        finally:
            search_engine.start()
        stored = await wait_for(lambda: docs_reach(settings, events, container), within=180, interval=1)
    assert stored == events
    assert indexer.writer is not None and indexer.writer.stats.created + indexer.writer.stats.duplicates >= events
    stats = indexer.writer.stats
    print(f"\nelasticsearch outage: events={events} documents={stored} created={stats.created} "
          f"duplicates_409={stats.duplicates} retried={stats.retried}")


async def test_a_rejected_document_is_dead_lettered_with_the_reason_and_the_rest_is_stored(
    engine_settings: Settings, search_engine: SearchServer
) -> None:
    settings = engine_settings
    index = f"logs-reject-{settings.namespace}"
    good = [
        orjson.dumps({"create": {"_index": index, "_id": f"good-{i}"}}) + b"\n"
        + orjson.dumps({"@timestamp": "2026-01-01T00:00:00.000000001Z", "message": f"fine {i}"}) + b"\n"
        for i in range(5)
    ]
    bad = (
        orjson.dumps({"create": {"_index": index, "_id": "bad-1"}}) + b"\n"
        + orjson.dumps({"@timestamp": "not a time", "message": "broken", "container": {"name": "rejector"}}) + b"\n"
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic_events, b"".join(good[:2]) + bad + b"".join(good[2:]))
    finally:
        await producer.stop()
    indexer = Indexer(settings)
    async with running(indexer):
        assert await wait_for(lambda: _dead_letters(settings), within=60)
    assert indexer.writer is not None and indexer.writer.stats.dead_lettered == 1
    assert await wait_for(lambda: _stored(settings, index, 5), within=30)
    async with search.connect(settings) as engine:
        stored = await engine.search(index, size=10)
        letters = await engine.search(deadletter.stream_name(settings.namespace), size=10)
    assert sorted(hit["_source"]["message"] for hit in stored["hits"]["hits"]) == [f"fine {i}" for i in range(5)]
    letter = letters["hits"]["hits"][0]["_source"]
    # the engine's own error type: Elasticsearch 8 says document_parsing_exception, OpenSearch the older name
    parse_error = "mapper_parsing_exception" if search_engine.name == "opensearch" else "document_parsing_exception"
    assert letter["error"]["type"] == f"es_{parse_error}"
    assert "@timestamp" in letter["error"]["message"]
    assert "not a time" in letter["event"]["original"]
    assert letter["container"]["name"] == "rejector"
    assert letter["logfleet"]["target_index"] == index


async def _stored(settings: Settings, index: str, want: int) -> bool:
    async with search.connect(settings) as engine:
        return await engine.count(index) >= want


async def _dead_letters(settings: Settings) -> int:
    async with search.connect(settings) as engine:
        return await engine.count(deadletter.stream_name(settings.namespace))


async def test_setup_elasticsearch_twice_in_a_row_succeeds(engine_settings: Settings) -> None:
    first = await provision.setup_elasticsearch(engine_settings)
    second = await provision.setup_elasticsearch(engine_settings)
    assert first == second
    result = logfleet_cli(engine_settings, "setup")
    assert result.returncode == 0, result.stderr
    assert "index template logfleet-logs put" in result.stdout
