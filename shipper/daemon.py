"""The shipper daemon: discover containers, supervise one follower each, keep checkpoints on disk.

At start, and after every reconnect of the events stream, it lists all containers (running and
exited) and starts a follower for each one that has lines it has not shipped. It follows ``/events``
for ``start`` (collect within a second) and ``destroy`` (forget the checkpoint later). Followers that
fail are restarted from their checkpoint with exponential backoff; a lost Docker daemon is waited
for. On shutdown it stops reading, waits for Kafka's acknowledgements and writes the checkpoints.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from logfleet.clients import kafka
from logfleet.core.config import Settings
from logfleet.core.errors import LogfleetError
from logfleet.core.metrics import Metric, counters
from logfleet.core.retry import backoff
from logfleet.core.telemetry import get_logger
from shipper import checkpoints
from shipper.acks import ShipperStats
from shipper.checkpoints import CheckpointStore
from shipper.containers import Selector, own_container_id
from shipper.docker_api import ContainerGone, DockerClient
from shipper.follower import Follower

log = get_logger("shipper")
EVENT_FILTERS = {"type": ["container"], "event": ["start", "destroy"]}





class Shipper:
    """Runs until :meth:`stop` is called (or its task is cancelled)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stats = ShipperStats()
        self.checkpoints = CheckpointStore(checkpoints.path_in(settings.state_dir))
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._stopping = asyncio.Event()
        self._docker_ok = False
        self.selector = Selector(settings.include, settings.exclude, own_container_id())

    def stop(self) -> None:
        """Ask the daemon to finish: stop reading, flush, checkpoint, return from :meth:`run`."""
        self._stopping.set()

    def metrics(self) -> list[Metric]:
        """Counters and gauges for ``/metrics`` (no per-container labels)."""
        st = self.stats
        return [
            *counters(
                "shipper",
                {
                    "lines_read": (st.lines_read, "Lines read from the Docker Engine API and sent to Kafka."),
                    "bytes_read": (st.bytes_read, "Bytes read from the Docker Engine API."),
                    "lines_acked": (st.lines_acked, "Lines Kafka acknowledged."),
                    "records_sent": (st.records_sent, "Kafka records sent."),
                    "lines_skipped": (st.lines_skipped, "Lines skipped on resume as already shipped."),
                    "reconnects": (st.reconnects, "Reconnects to the Docker Engine API (events and logs)."),
                    "send_errors": (st.send_errors, "Kafka sends that failed (resent from the checkpoint)."),
                    "log_gaps": (st.gaps, "Resumes whose checkpoint line Docker had rotated away (lines may be lost)."),
                },
            ),
            Metric("shipper_containers_followed", "gauge", "Containers being followed.", st.followers),
            Metric("shipper_records_in_flight", "gauge", "Records sent and not yet acknowledged.", st.in_flight),
            Metric(
                "shipper_checkpoint_age_seconds",
                "gauge",
                "Age of the oldest checkpoint of a container still being followed.",
                self.checkpoints.oldest_age(),
            ),
            Metric("shipper_docker_connected", "gauge", "1 while the Docker events stream is open.", self._docker_ok),
        ]

    def healthy(self) -> bool:
        """Healthy while the Docker Engine answers and nothing is stopping."""
        return self._docker_ok and not self._stopping.is_set()

    async def run(self) -> None:
        """Ship until stopped."""
        async with (
            DockerClient(self.settings.docker_host) as docker,
            kafka.producer(self.settings, attempts=1_000_000) as producer,
        ):
            flusher = asyncio.create_task(self._flush_checkpoints())
            discovery = asyncio.create_task(self._discover(docker, producer))
            await self._stopping.wait()
            discovery.cancel()
            for task in self._followers.values():
                task.cancel()
            await asyncio.gather(discovery, *self._followers.values(), return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.flush(), timeout=10)
            await asyncio.sleep(0)  # let acknowledgement callbacks advance the checkpoints
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            self.checkpoints.save(force=True)
            log.info("shipper_stopped", lines_acked=self.stats.lines_acked)

    async def _flush_checkpoints(self) -> None:
        while True:
            await asyncio.sleep(self.settings.checkpoint_interval_s)
            self.checkpoints.save()

    async def _discover(self, docker: DockerClient, producer: Any) -> None:
        attempt = 0
        since = time.time()
        while True:
            try:
                await docker.ping()
                for summary in await docker.list_containers(all_=True):
                    names = summary.get("Names") or [""]
                    labels = summary.get("Labels") or {}
                    self._consider(summary["Id"], names[0], summary.get("Image", ""), labels, docker, producer)
                attempt = 0
                self._docker_ok = True
                async for event in docker.events(since=since, filters=EVENT_FILTERS):
                    since = event.get("timeNano", since * 1e9) / 1e9
                    cid = event.get("id") or event.get("Actor", {}).get("ID", "")
                    attributes = dict(event.get("Actor", {}).get("Attributes", {}) or {})
                    name, image = attributes.pop("name", ""), attributes.pop("image", "")
                    if event.get("Action") == "start":
                        self._consider(cid, name, image, attributes, docker, producer)
                    elif event.get("Action") == "destroy":
                        self.checkpoints.mark_removed(cid)
                raise LogfleetError("events stream ended")
            except (LogfleetError, OSError) as exc:
                self._docker_ok = False
                self.stats.reconnects += 1
                delay = backoff(attempt)
                attempt += 1
                log.warning("docker_reconnect", error=str(exc), retry_in=round(delay, 2))
                await asyncio.sleep(delay)

    def _consider(
        self, cid: str, name: str, image: str, labels: dict[str, str], docker: DockerClient, producer: Any
    ) -> None:
        task = self._followers.get(cid)
        if task is not None and not task.done():
            return
        if not self.selector.selects(cid, name, image, labels):
            return
        self._followers[cid] = asyncio.create_task(self._supervise(cid, docker, producer))

    async def _supervise(self, cid: str, docker: DockerClient, producer: Any) -> None:
        attempt = 0
        self.stats.followers += 1
        try:
            while True:
                follower = Follower(cid, docker, producer, self.checkpoints, self.settings, self.stats)
                try:
                    await follower.run()
                    return
                except ContainerGone:
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self.stats.reconnects += 1
                    delay = backoff(attempt)
                    attempt += 1
                    log.warning("follower_restart", container_id=cid[:12], error=str(exc), retry_in=round(delay, 2))
                    await asyncio.sleep(delay)
        finally:
            self.stats.followers -= 1
