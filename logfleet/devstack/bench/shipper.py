"""``logfleet bench shipper``: the shipper against the Docker daemon's own ceiling, in one run.

One busy container writes N lines of about 150 bytes. The ceiling is how fast ``docker logs -f``
drains that container (the daemon serving its own CLI); the shipper's figure is how fast a fresh
``logfleet shipper run`` gets all N lines acknowledged by Kafka. CPU seconds per million lines are
read from /proc for the shipper and for dockerd while each one reads, and the benchmark counts the
lines in Kafka: none may be missing. With ``peer="rsyslog"`` the same finished container is then
read by rsyslog ``imdocker`` -> ``omkafka`` (:mod:`logfleet.devstack.bench.rsyslog_peer`) into a topic of its
own, and the figures sit side by side with their ratios. ``--containers 100`` measures the
shipper's RSS while it follows 100 quiet running containers.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import docker
from aiokafka.errors import KafkaError

from logfleet.clients import kafka
from logfleet.core.config import Settings
from logfleet.core.errors import LogfleetError, StackError
from logfleet.devstack.bench import rsyslog_peer
from logfleet.devstack.bench.procstat import cpu_seconds, daemon_env, pid_of, rss_mb, scrape
from logfleet.devstack.busybox_image import IMAGE
from logfleet.devstack.ports import free_port

DOCKER_CLI = "/usr/bin/docker"
LINE_SCRIPT = (
    "awk 'BEGIN {{ pad = sprintf(\"%0120d\", 0); for (i = 1; i <= {n}; i++) "
    "printf \"%09d level=info msg=\\\"benchmark line\\\" pad=%s\\n\", i, pad }}'"
)


def _dockerd_pid(settings: Settings) -> int:
    socket = settings.docker_host.removeprefix("unix://")
    pid = pid_of("dockerd", socket) or pid_of("dockerd")
    if pid is None:
        raise StackError("no dockerd process found on this machine (the benchmark reads its CPU time)")
    return pid


def _drain_ceiling(settings: Settings, container_id: str, dockerd: int) -> dict[str, float]:
    env = {**os.environ, "DOCKER_HOST": settings.docker_host}
    cpu0, start = cpu_seconds(dockerd), time.perf_counter()
    lines = 0
    with subprocess.Popen(
        [DOCKER_CLI, "logs", "-f", "-t", container_id], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as proc:
        assert proc.stdout is not None
        while chunk := proc.stdout.read(1 << 20):
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - start
    return {"lines": lines, "seconds": seconds, "dockerd_cpu_s": cpu_seconds(dockerd) - cpu0}


def _run_shipper(settings: Settings, lines: int, dockerd: int, state_dir: Path) -> dict[str, float]:
    port = free_port()
    env = daemon_env(dataclasses.replace(settings, state_dir=str(state_dir)), port)
    cpu0 = cpu_seconds(dockerd)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "logfleet", "shipper", "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        acked = 0.0
        deadline = start + 600
        while acked < lines and time.perf_counter() < deadline and proc.poll() is None:
            time.sleep(0.2)  # each scrape costs the shipper a /metrics answer: 20 a second cost it ~3% CPU
            acked = scrape(port, "logfleet_shipper_lines_acked_total")
        seconds = time.perf_counter() - start
        return {
            "lines_acked": acked,
            "seconds": seconds,
            "shipper_cpu_s": cpu_seconds(proc.pid),
            "dockerd_cpu_s": cpu_seconds(dockerd) - cpu0,
            "shipper_peak_rss_mb": rss_mb(proc.pid, peak=True),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _count_in_kafka(settings: Settings, acked: float) -> dict[str, int]:
    from logfleet.core.model import decode_raw

    seen: set[int] = set()
    total = 0
    for _ in range(5):  # read again while fewer lines than the shipper saw acknowledged come back
        seen.clear()
        total = 0
        for record in await kafka.read_all(settings, settings.topic_raw):
            for line in decode_raw(record.value)["lines"]:
                seen.add(int(line[3][:9]))
                total += 1
        if total >= acked:
            break
        await asyncio.sleep(2)
    return {"unique": len(seen), "total": total}


async def _drop_topics(settings: Settings, topics: list[str]) -> None:
    """Delete the run's own topics (a million-line run leaves hundreds of MB on the broker); a
    failure only leaves them behind."""
    with contextlib.suppress(LogfleetError, KafkaError, OSError):
        async with kafka.admin(settings, "logfleet-bench") as admin:
            await admin.delete_topics(topics)


def _side_by_side(result: dict[str, Any], peer: dict[str, Any], ceiling_rate: float) -> dict[str, Any]:
    rsyslog_cpu = peer["rsyslog_cpu_s_per_million"]
    return {
        **peer,
        "rsyslog_ratio_to_ceiling": round(peer["rsyslog_lines_per_s"] / ceiling_rate, 3),
        "shipper_cpu_to_rsyslog_cpu": round(result["shipper_cpu_s_per_million"] / rsyslog_cpu, 3) if rsyslog_cpu else 0,
        "shipper_rate_to_rsyslog_rate": (round(result["shipper_lines_per_s"] / peer["rsyslog_lines_per_s"], 3)
                                         if peer["rsyslog_lines_per_s"] else 0),
    }


def bench_shipper(settings: Settings, lines: int, work_dir: Path, peer: str | None = None) -> dict[str, Any]:
    """One run: ceiling, shipper, the count in Kafka and, with ``peer="rsyslog"``, rsyslog on the
    same container after them; returns the figures."""
    if peer == "rsyslog":
        rsyslog_peer.locate_imdocker()  # fail before any work when the module is not built
    tag = uuid.uuid4().hex[:8]
    settings = dataclasses.replace(settings, topic_raw=f"bench-raw-{tag}", include=f"label:logfleet.bench={tag}")
    asyncio.run(kafka.ensure_topics(settings))
    client = docker.DockerClient(base_url=settings.docker_host)
    dockerd = _dockerd_pid(settings)
    container = client.containers.run(IMAGE, ["sh", "-c", LINE_SCRIPT.format(n=lines)], detach=True, init=True,
                                      labels={"logfleet.bench": tag}, name=f"bench-{tag}")
    try:
        container.wait(timeout=600)
        ceiling = _drain_ceiling(settings, container.id, dockerd)
        shipped = _run_shipper(settings, lines, dockerd, work_dir / f"state-{tag}")
        counted = asyncio.run(_count_in_kafka(settings, shipped["lines_acked"]))
        peer_figures = (rsyslog_peer.run_rsyslog(settings, f"logfleet.bench={tag}", lines, dockerd,
                                                 work_dir / f"rsyslog-{tag}") if peer == "rsyslog" else None)
    finally:
        container.remove(force=True)
        client.close()
        own = [settings.topic_raw] + ([rsyslog_peer.TOPIC_PREFIX + tag] if peer == "rsyslog" else [])
        asyncio.run(_drop_topics(settings, own))
    millions = lines / 1e6
    ceiling_rate = ceiling["lines"] / ceiling["seconds"]
    shipper_rate = shipped["lines_acked"] / shipped["seconds"]
    result: dict[str, Any] = {
        "lines": lines,
        "ceiling_docker_logs_f_lines_per_s": round(ceiling_rate),
        "shipper_lines_per_s": round(shipper_rate),
        "ratio_to_ceiling": round(shipper_rate / ceiling_rate, 3),
        "shipper_cpu_s_per_million": round(shipped["shipper_cpu_s"] / millions, 2),
        "dockerd_cpu_s_per_million_serving_shipper": round(shipped["dockerd_cpu_s"] / millions, 2),
        "dockerd_cpu_s_per_million_serving_docker_cli": round(ceiling["dockerd_cpu_s"] / millions, 2),
        "shipper_peak_rss_mb": round(shipped["shipper_peak_rss_mb"], 1),
        "lines_in_kafka": counted["total"],
        "lines_lost": lines - counted["unique"],
        "lines_duplicated": counted["total"] - counted["unique"],
        "note": "shipper seconds include its start-up (about 0.6 s)",
    }
    if peer_figures is not None:
        result.update(_side_by_side(result, peer_figures, ceiling_rate))
        result["note"] += "; rsyslog reads the same finished container after the shipper, into its own topic"
    return result


def bench_many_containers(settings: Settings, containers: int, work_dir: Path) -> dict[str, Any]:
    """The shipper's RSS while it follows ``containers`` quiet running containers."""
    tag = uuid.uuid4().hex[:8]
    settings = dataclasses.replace(settings, topic_raw=f"bench-raw-{tag}", include=f"label:logfleet.bench={tag}")
    asyncio.run(kafka.ensure_topics(settings))
    client = docker.DockerClient(base_url=settings.docker_host)
    started = []
    port = free_port()
    env = daemon_env(dataclasses.replace(settings, state_dir=str(work_dir / f"state-{tag}")), port)
    try:
        for i in range(containers):
            script = "echo started; while true; do sleep 5; echo tick; done"
            started.append(client.containers.run(IMAGE, ["sh", "-c", script], detach=True, init=True,
                                                 labels={"logfleet.bench": tag}, name=f"bench-{tag}-{i}"))
        proc = subprocess.Popen([sys.executable, "-m", "logfleet", "shipper", "run"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.perf_counter() + 120
            while scrape(port, "logfleet_shipper_containers_followed") < containers and time.perf_counter() < deadline:
                time.sleep(0.5)
            time.sleep(10)  # a few ticks from every container
            followed = scrape(port, "logfleet_shipper_containers_followed")
            return {
                "containers": containers,
                "followed": followed,
                "shipper_rss_mb": round(rss_mb(proc.pid), 1),
                "shipper_peak_rss_mb": round(rss_mb(proc.pid, peak=True), 1),
            }
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    finally:
        for container in started:
            container.remove(force=True)
        client.close()
