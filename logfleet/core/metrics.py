"""Prometheus metrics and a health check over HTTP, for every daemon.

Each daemon describes its metrics as :class:`Metric` values (counters and gauges with bounded
labels: never a container id); :class:`MetricsServer` serves them in the Prometheus text format at
``/metrics`` and answers ``/healthz`` with 200 when every daemon reports healthy, 503 otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Protocol

from aiohttp import web

from logfleet.core.telemetry import get_logger

log = get_logger("metrics")


@dataclasses.dataclass(frozen=True)
class Metric:
    """One sample: ``name`` without the ``logfleet_`` prefix, ``kind`` counter or gauge."""

    name: str
    kind: str
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()


class Observable(Protocol):
    """What a daemon offers the metrics server."""

    def metrics(self) -> Iterable[Metric]: ...

    def healthy(self) -> bool: ...


def render(metrics: Iterable[Metric]) -> str:
    """The Prometheus text exposition of the samples (HELP and TYPE once per name)."""
    lines: list[str] = []
    described: set[str] = set()
    for metric in metrics:
        name = f"logfleet_{metric.name}"
        if name not in described:
            described.add(name)
            lines.append(f"# HELP {name} {metric.help}")
            lines.append(f"# TYPE {name} {metric.kind}")
        labels = ",".join(f'{k}="{_escape(v)}"' for k, v in metric.labels)
        value = _number(metric.value)
        lines.append(f"{name}{{{labels}}} {value}" if labels else f"{name} {value}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    """A sample value exactly: ``:g`` would print 1234567 as 1.23457e+06 and lose counts."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsServer:
    """Serves ``/metrics`` and ``/healthz`` for some daemons; ``async with`` starts and stops it."""

    def __init__(self, port: int, daemons: Iterable[Observable], host: str = "0.0.0.0") -> None:
        self.port = port
        self.host = host
        self.daemons = list(daemons)
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> MetricsServer:
        if self.port <= 0:
            return self
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            # Metrics are for operators; a taken port must not stop the logs from flowing.
            log.warning("metrics_unavailable", port=self.port, error=str(exc))
            await self._runner.cleanup()
            self._runner = None
            return self
        log.info("metrics_listening", port=self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _metrics(self, _: web.Request) -> web.Response:
        samples = [metric for daemon in self.daemons for metric in daemon.metrics()]
        return web.Response(text=render(samples), content_type="text/plain", charset="utf-8")

    async def _health(self, _: web.Request) -> web.Response:
        ok = all(daemon.healthy() for daemon in self.daemons)
        return web.Response(status=200 if ok else 503, text="ok\n" if ok else "unhealthy\n")


def counters(prefix: str, values: dict[str, tuple[float, str]]) -> list[Metric]:
    """Counters named ``<prefix>_<key>_total`` from ``{key: (value, help)}``."""
    return [Metric(f"{prefix}_{key}_total", "counter", text, value) for key, (value, text) in values.items()]
