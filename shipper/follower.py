"""Follow one container's logs into Kafka, from its checkpoint to the end of its life.

The follower reads ``/containers/{id}/logs`` from the checkpoint with nanosecond ``since``, skips
what was already acknowledged (same timestamp, lower ordinal), packs lines into raw records and
sends them keyed by container id. Each record's acknowledgement advances the checkpoint, in send
order. A follow stream ends soon after the container exits and may leave lines unsent, so when it
ends the follower reads again without ``follow`` from where it is until it has everything up to the
container's end. In-flight records are bounded, so a slow or absent Kafka pauses reading.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from logfleet.config import Settings
from logfleet.docker_api import DockerClient
from logfleet.errors import DeliveryError
from logfleet.model import ContainerMeta, docker_since, encode_raw
from logfleet.telemetry import get_logger
from shipper.checkpoints import CheckpointStore
from shipper.containers import meta_from_inspect
from shipper.frames import Line, LineAssembler

log = get_logger("shipper")
MAX_IN_FLIGHT = 8
RESUME_WINDOW_NS = 2 * 1_000_000_000


@dataclass
class ShipperStats:
    """Counters the shipper exposes as metrics (no per-container labels)."""

    lines_read: int = 0
    bytes_read: int = 0
    lines_acked: int = 0
    records_sent: int = 0
    lines_skipped: int = 0
    reconnects: int = 0
    followers: int = 0
    in_flight: int = 0
    send_errors: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class _ResumeSkip:
    """Skips what was shipped before ``position``, the last line shipped, in stream order.

    stdout and stderr lines are not strictly in time order, so "skip every line not newer than the
    position" could drop a late line. Instead the read starts a window before the position, and
    every line up to and including the position's own line is skipped: stream order on a read from
    a fixed ``since`` is the same every time. If that line is never seen (the log file rotated away),
    lines newer than the position are shipped once the window has passed.
    """

    def __init__(self, position: tuple[int, int] | None) -> None:
        self.position = position
        self.active = position is not None
        self.since = docker_since(max(0, position[0] - RESUME_WINDOW_NS)) if position else "0"

    def already_shipped(self, line: Line) -> bool:
        assert self.position is not None
        key = (line[0], line[1])
        if key == self.position:
            self.active = False
            return True
        if line[0] > self.position[0] + RESUME_WINDOW_NS:
            self.active = False
            return False
        return True


class Follower:
    """Ships one container; :meth:`run` returns once the container stopped and all was acknowledged."""

    def __init__(
        self,
        container_id: str,
        docker: DockerClient,
        producer: AIOKafkaProducer,
        checkpoints: CheckpointStore,
        settings: Settings,
        stats: ShipperStats,
    ) -> None:
        self.container_id = container_id
        self.docker = docker
        self.producer = producer
        self.checkpoints = checkpoints
        self.settings = settings
        self.stats = stats
        self._in_flight: collections.deque[tuple[asyncio.Future[Any], tuple[int, int], int]] = (
            collections.deque()
        )
        self._failure: BaseException | None = None
        self._room = asyncio.Event()
        self._room.set()

    async def run(self) -> None:
        """Read, send and checkpoint until the container has stopped and everything was acked."""
        info = await self.docker.inspect(self.container_id)
        meta = meta_from_inspect(info)
        meta_json = meta.as_json()
        state = info.get("State", {})
        if not state.get("Running") and self.checkpoints.finished_at(self.container_id) == state.get("FinishedAt"):
            return  # this run of the container was shipped completely before
        position = self.checkpoints.position(self.container_id)
        while True:
            running = bool(info.get("State", {}).get("Running"))
            position = await self._read(meta, meta_json, position, follow=running)
            if not running:
                break
            # The follow stream ended: the container stopped (or restarted). Look again, then read
            # without follow from our position to collect what the follow stream left unsent.
            info = await self.docker.inspect(self.container_id)
        await self._drain()
        finished = str(info.get("State", {}).get("FinishedAt", ""))
        self.checkpoints.mark_finished(self.container_id, finished)
        log.info("container_done", container=meta.name, container_id=self.container_id[:12])

    async def _read(
        self, meta: ContainerMeta, meta_json: dict[str, Any], position: tuple[int, int] | None, follow: bool
    ) -> tuple[int, int] | None:
        """Read from just after ``position``; return the position of the last line read."""
        assembler = LineAssembler(meta.tty, self.settings.max_line_bytes)
        skip = _ResumeSkip(position)
        log.info("reading", container=meta.name, since=skip.since, follow=follow, resume=position)
        batch: list[Line] = []
        batch_bytes = 0
        flush_every = self.settings.flush_interval_s
        host = self.settings.host_name
        async with self.docker.logs(self.container_id, follow=follow, since=skip.since) as stream:
            while True:
                try:
                    async with asyncio.timeout(flush_every):
                        chunk = await stream.readany()
                except TimeoutError:
                    if batch:
                        await self._send(host, meta_json, batch)
                        batch, batch_bytes = [], 0
                    continue
                lines = assembler.feed(chunk) if chunk else assembler.finish()
                self.stats.bytes_read += len(chunk)
                for line in lines:
                    if skip.active and skip.already_shipped(line):
                        self.stats.lines_skipped += 1
                        continue
                    position = (line[0], line[1])
                    batch.append(line)
                    batch_bytes += len(line[3]) + 64
                    if len(batch) >= self.settings.batch_lines or batch_bytes >= self.settings.batch_bytes:
                        await self._send(host, meta_json, batch)
                        batch, batch_bytes = [], 0
                if not chunk:
                    break
        if batch:
            await self._send(host, meta_json, batch)
        return position

    async def _send(self, host: str, meta_json: dict[str, Any], batch: list[Line]) -> None:
        if self._failure is not None:
            raise DeliveryError(f"Kafka send failed: {self._failure}") from self._failure
        while len(self._in_flight) >= MAX_IN_FLIGHT:
            self._room.clear()
            await self._room.wait()
            if self._failure is not None:
                raise DeliveryError(f"Kafka send failed: {self._failure}") from self._failure
        value = encode_raw(host, meta_json, batch)
        future = await self.producer.send(
            self.settings.topic_raw, value=value, key=self.container_id.encode()
        )
        last = batch[-1]
        self._in_flight.append((future, (last[0], last[1]), len(batch)))
        self.stats.records_sent += 1
        self.stats.lines_read += len(batch)
        self.stats.in_flight += 1
        future.add_done_callback(self._settle)

    def _settle(self, _: object = None) -> None:
        """Advance the checkpoint over acknowledged records, strictly in send order."""
        while self._in_flight and self._in_flight[0][0].done():
            future, position, count = self._in_flight.popleft()
            self.stats.in_flight -= 1
            if future.cancelled() or future.exception() is not None:
                self.stats.send_errors += 1
                self._failure = future.exception() or asyncio.CancelledError()
                # Whatever follows a failed record must be sent again: stop advancing here.
                for rest, _, _ in self._in_flight:
                    rest.add_done_callback(lambda f: f.cancelled() or f.exception())
                self.stats.in_flight -= len(self._in_flight)
                self._in_flight.clear()
                break
            self.checkpoints.advance(self.container_id, position)
            self.stats.lines_acked += count
        self._room.set()

    async def _drain(self) -> None:
        """Wait until every record sent so far was acknowledged; raise if one failed."""
        while self._in_flight:
            await asyncio.wait([self._in_flight[-1][0]])
            self._settle()
        if self._failure is not None:
            raise DeliveryError(f"Kafka send failed: {self._failure}") from self._failure
