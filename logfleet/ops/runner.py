"""Run daemons in the foreground until SIGTERM or SIGINT, then stop them gracefully."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Protocol

from logfleet.core.metrics import MetricsServer, Observable
from logfleet.core.telemetry import get_logger

log = get_logger("runner")


class Daemon(Observable, Protocol):
    """Anything with an async ``run`` that returns after ``stop`` was called, and metrics."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


async def run_until_signalled(*daemons: Daemon, metrics_port: int = 0, grace_s: float = 15.0) -> None:
    """Run the daemons together; the first SIGTERM/SIGINT stops all of them, a failure stops the rest.

    A daemon that has not returned ``grace_s`` seconds after being asked to stop (one still waiting
    for a server, say) is cancelled.
    """
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task[None]] = []

    def cancel_all() -> None:
        for task in tasks:
            task.cancel()

    def stop_all(signame: str) -> None:
        log.info("stopping", signal=signame)
        for daemon in daemons:
            daemon.stop()
        loop.call_later(grace_s, cancel_all)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_all, sig.name)
    tasks.extend(asyncio.create_task(d.run()) for d in daemons)
    try:
        async with MetricsServer(metrics_port, daemons):
            await _wait(tasks, stop_all)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def _wait(tasks: list[asyncio.Task[None]], stop_all: Callable[[str], None]) -> None:
    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    if any(not task.cancelled() and task.exception() is not None for task in done):
        stop_all("failure")
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result
