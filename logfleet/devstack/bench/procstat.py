"""The processes a benchmark measures: their environment, their metrics, and their CPU time and
memory read from /proc (Linux)."""

from __future__ import annotations

import os
import urllib.request

from logfleet.core.config import Settings

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process (not its children) has used."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int, peak: bool = False) -> float:
    """Resident memory of a process in MB (its peak with ``peak``)."""
    key = "VmHWM:" if peak else "VmRSS:"
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def pid_of(program: str, argument: str = "") -> int | None:
    """The pid of a running program whose command line contains ``argument``, if any."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().split(b"\0")
        except OSError:
            continue
        name = os.path.basename(cmdline[0].decode(errors="replace")) if cmdline else ""
        if name == program and argument.encode() in b" ".join(cmdline):
            return int(entry)
    return None


def daemon_env(settings: Settings, metrics_port: int) -> dict[str, str]:
    """The environment that points a ``logfleet ... run`` process at these settings."""
    return {
        **os.environ,
        "DOCKER_HOST": settings.docker_host,
        "LOGFLEET_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "LOGFLEET_ES_URL": settings.es_url,
        "LOGFLEET_TOPIC_RAW": settings.topic_raw,
        "LOGFLEET_TOPIC_EVENTS": settings.topic_events,
        "LOGFLEET_TOPIC_DLQ": settings.topic_dlq,
        "LOGFLEET_PROCESSOR_GROUP": settings.processor_group,
        "LOGFLEET_INDEXER_GROUP": settings.indexer_group,
        "LOGFLEET_NAMESPACE": settings.namespace,
        "LOGFLEET_STATE_DIR": settings.state_dir,
        "LOGFLEET_INCLUDE": settings.include,
        "LOGFLEET_METRICS_PORT": str(metrics_port),
        "LOGFLEET_STACK_DIR": "/nonexistent",
    }


def scrape(port: int, name: str) -> float:
    """One sample from a daemon's ``/metrics`` (0 when it does not answer in time)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=15) as answer:
            for line in answer.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0
