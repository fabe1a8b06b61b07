"""``logfleet bench processor`` and ``logfleet bench indexer``: each part as a real process on the
local stack, timed from its first output to its last, with its ceiling measured in the same run.

The processor reads raw records of the synthetic mix (:mod:`logfleet.devstack.bench.mix`) and its figure is
events/s and CPU seconds per million. The indexer's ceiling is the same documents sent as raw
``_bulk`` requests of the same size, one at a time (the indexer's own concurrency), by a minimal
loader; both write into fresh data streams that are deleted afterwards, because the stand-in server
slows down as its stored data grows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from logfleet.clients import kafka, search
from logfleet.core import security
from logfleet.core.config import Settings
from logfleet.core.model import encode_raw, event_id, format_ts
from logfleet.devstack.bench import mix
from logfleet.devstack.bench.procstat import cpu_seconds, daemon_env, rss_mb, scrape
from logfleet.devstack.ports import free_port
from logfleet.ops import provision

CONTAINER_ID = "be" * 32
CONTAINER = {"id": CONTAINER_ID, "name": "bench-shop-1", "image": "shop", "labels": {}, "compose_service": "shop"}


def isolated(settings: Settings, work_dir: Path) -> Settings:
    """Settings with a bench's own topics, groups, namespace and state folder."""
    tag = uuid.uuid4().hex[:8]
    return dataclasses.replace(
        settings,
        topic_raw=f"bench-raw-{tag}",
        topic_events=f"bench-events-{tag}",
        topic_dlq=f"bench-dlq-{tag}",
        processor_group=f"bench-proc-{tag}",
        indexer_group=f"bench-idx-{tag}",
        namespace=f"bench{tag}",
        state_dir=str(work_dir / tag),
    )


def _watch(settings: Settings, part: str, counters: list[str], want: int, timeout_s: float = 900) -> dict[str, float]:
    """Run ``logfleet PART run`` until the counters add up to ``want``.

    What happens between the first scrape that shows output and the last one is measured, so the
    process start and the consumer group join are left out (the first batch is left out with them).
    """
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "logfleet", part, "run"], env=daemon_env(settings, port),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.perf_counter() + timeout_s
        first_at = cpu_at_first = None
        done = first_done = 0.0
        while done < want and time.perf_counter() < deadline and proc.poll() is None:
            time.sleep(0.02)
            done = sum(scrape(port, name) for name in counters)
            if first_at is None and done > 0:
                first_at, cpu_at_first, first_done = time.perf_counter(), cpu_seconds(proc.pid), done
        end = time.perf_counter()
        assert first_at is not None and cpu_at_first is not None, f"{part} produced nothing"
        assert done > first_done, f"{part} finished in its first batch: measure more"
        return {
            "done": done - first_done,
            "seconds": end - first_at,
            "cpu_s": cpu_seconds(proc.pid) - cpu_at_first,
            "peak_rss_mb": rss_mb(proc.pid, peak=True),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=60)


async def _produce(settings: Settings, topic: str, values: list[bytes]) -> None:
    async with kafka.producer(settings) as producer:
        futures = [await producer.send(topic, value, key=b"bench") for value in values]
        await asyncio.gather(*futures)


def bench_processor(settings: Settings, count: int, work_dir: Path) -> dict[str, Any]:
    """One run of the processor over ``count`` lines of the mix."""
    settings = isolated(settings, work_dir)
    asyncio.run(kafka.ensure_topics(settings))
    texts = mix.lines(count)
    values = []
    for first in range(0, count, 1000):
        batch = [[mix.BASE_NS + i * 1000, 0, "stdout", texts[i], []] for i in range(first, min(count, first + 1000))]
        values.append(encode_raw("bench-host", CONTAINER, batch))
    asyncio.run(_produce(settings, settings.topic_raw, values))
    result = _watch(settings, "processor",
                    ["logfleet_processor_events_out_total", "logfleet_processor_dead_letters_total"], count)
    return {
        "records": count,
        "events_per_s": round(result["done"] / result["seconds"]),
        "cpu_s_per_million": round(result["cpu_s"] / (result["done"] / 1e6), 2),  # the first batch is out of both
        "peak_rss_mb": round(result["peak_rss_mb"], 1),
        "target_events_per_s": 100_000,
    }


def _bulk_bodies(settings: Settings, count: int, per_request: int, index: str) -> list[bytes]:
    import orjson

    texts = mix.lines(count)
    bodies = []
    for first in range(0, count, per_request):
        parts = []
        for i in range(first, min(count, first + per_request)):
            eid = event_id(CONTAINER_ID, mix.BASE_NS + i * 1000, "stdout", 0)
            parts.append(orjson.dumps({"create": {"_index": index, "_id": eid}}))
            parts.append(orjson.dumps({
                "@timestamp": format_ts(mix.BASE_NS + i * 1000), "message": texts[i], "stream": "stdout",
                "container": {"id": CONTAINER_ID, "name": "bench-shop-1"}, "service": {"name": "shop"},
                "event": {"id": eid, "sequence": 0, "dataset": "shop"}, "host": {"name": "bench-host"},
            }))
        bodies.append(b"\n".join(parts) + b"\n")
    return bodies


async def _raw_bulk(settings: Settings, bodies: list[bytes]) -> float:
    tls = security.es_ssl(settings) or True
    async with aiohttp.ClientSession(headers=security.es_headers(settings)) as session:
        start = time.perf_counter()
        for body in bodies:
            async with session.post(f"{settings.es_url}/_bulk", data=body, ssl=tls,
                                    headers={"content-type": "application/x-ndjson"}) as answer:
                result = await answer.json()
                assert not result.get("errors"), "the ceiling loader got item errors"
        return time.perf_counter() - start


async def drop_index(settings: Settings, index: str) -> str:
    """Delete a bench's data stream (the stand-in slows down as its stored data grows); returns the engine
    it ran on (name and version)."""
    async with search.connect(settings) as engine:
        await engine.drop_streams(index)
        return f"{engine.name} {engine.version}"


def bench_indexer(settings: Settings, count: int, work_dir: Path) -> dict[str, Any]:
    """One run: the raw ``_bulk`` ceiling, then the indexer, on the same documents."""
    settings = isolated(settings, work_dir)
    asyncio.run(kafka.ensure_topics(settings))
    asyncio.run(provision.setup_elasticsearch(settings))
    ceiling_index = f"logs-shop-{settings.namespace}c"
    indexer_index = f"logs-shop-{settings.namespace}"
    per_request = settings.bulk_docs
    ceiling_s = asyncio.run(_raw_bulk(settings, _bulk_bodies(settings, count, per_request, ceiling_index)))
    asyncio.run(drop_index(settings, ceiling_index))
    asyncio.run(_produce(settings, settings.topic_events, _bulk_bodies(settings, count, 500, indexer_index)))
    result = _watch(settings, "indexer",
                    ["logfleet_indexer_created_total", "logfleet_indexer_duplicates_total"], count)
    engine = asyncio.run(drop_index(settings, indexer_index))
    ceiling_rate = count / ceiling_s
    rate = result["done"] / result["seconds"]
    return {
        "engine": engine,
        "docs": count,
        "ceiling_raw_bulk_docs_per_s": round(ceiling_rate),
        "indexer_docs_per_s": round(rate),
        "ratio_to_ceiling": round(rate / ceiling_rate, 3),
        "indexer_cpu_s_per_million": round(result["cpu_s"] / (result["done"] / 1e6), 2),
        "indexer_peak_rss_mb": round(result["peak_rss_mb"], 1),
        "bulk_docs_per_request": per_request,
        "concurrency": 1,
    }
