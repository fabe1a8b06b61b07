"""``logfleet bench idle``: what a processor and an indexer cost when there is little or nothing to do.

Most hosts are quiet most of the time, so an idle pipeline must be nearly free. Both parts run as
real processes on the local stack (fresh topics, groups and namespace). After they joined their
groups, each is measured twice: with no input at all, then with a trickle of raw records of one
line each (``rate`` a second, the shape a quiet fleet of containers produces), which the pair
processes and indexes while being measured. The figure is CPU seconds per wall-clock second (the
share of one core) of each process, and how many lines arrived in Elasticsearch.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from logfleet.clients import kafka
from logfleet.core.config import Settings
from logfleet.core.model import encode_raw
from logfleet.devstack.bench.pipeline import CONTAINER, drop_index, isolated
from logfleet.devstack.bench.procstat import cpu_seconds, daemon_env, scrape
from logfleet.devstack.ports import free_port
from logfleet.ops import provision

JOIN_S = 8.0  # process start and consumer-group join, left out of the measurement


def _cpu(procs: dict[str, subprocess.Popen[bytes]]) -> dict[str, float]:
    return {part: cpu_seconds(proc.pid) for part, proc in procs.items()}


async def _trickle(settings: Settings, rate: float, seconds: float) -> int:
    """Send one one-line raw record every 1/rate s for ``seconds``; returns how many were sent."""
    sent = 0
    async with kafka.producer(settings, linger_ms=0) as producer:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            line = [time.time_ns(), 0, "stdout", f"trickle line {sent}", []]
            await producer.send_and_wait(settings.topic_raw, encode_raw("bench-host", CONTAINER, [line]), key=b"idle")
            sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
    return sent


def bench_idle(settings: Settings, rate: float, seconds: float, work_dir: Path) -> dict[str, Any]:
    """One run: CPU share of a processor and an indexer with no input, then with a trickle."""
    settings = isolated(settings, work_dir)
    asyncio.run(kafka.ensure_topics(settings))
    asyncio.run(provision.setup_elasticsearch(settings))
    ports = {"processor": free_port(), "indexer": free_port()}
    procs = {
        part: subprocess.Popen([sys.executable, "-m", "logfleet", part, "run"], env=daemon_env(settings, port),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for part, port in ports.items()
    }
    try:
        time.sleep(JOIN_S)
        before = _cpu(procs)
        time.sleep(seconds)
        idle = _cpu(procs)
        sent = asyncio.run(_trickle(settings, rate, seconds))
        trickle = _cpu(procs)
        deadline = time.monotonic() + 60
        stored = 0.0
        while stored < sent and time.monotonic() < deadline:
            time.sleep(0.5)
            stored = scrape(ports["indexer"], "logfleet_indexer_created_total")
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=60)
        asyncio.run(drop_index(settings, f"logs-shop-{settings.namespace}"))
    result: dict[str, Any] = {"seconds": seconds, "trickle_records_per_s": rate, "trickle_lines": sent,
                              "trickle_lines_stored": int(stored)}
    for part in procs:
        result[f"{part}_idle_cpu_share"] = round((idle[part] - before[part]) / seconds, 3)
        result[f"{part}_trickle_cpu_share"] = round((trickle[part] - idle[part]) / seconds, 3)
    return result
