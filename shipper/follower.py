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
import time
from typing import Any

from aiokafka import AIOKafkaProducer

from logfleet.core.config import Settings
from logfleet.core.model import ContainerMeta, docker_since, encode_raw, format_ts
from logfleet.core.telemetry import get_logger
from shipper.acks import AckLedger, ShipperStats
from shipper.checkpoints import CheckpointStore
from shipper.containers import meta_from_inspect
from shipper.docker_api import DockerClient
from shipper.frames import Line, LineAssembler
from shipper.multiline import Joiner

log = get_logger("shipper")
RESUME_WINDOW_NS = 2 * 1_000_000_000
RESUME_SKEW_NS = 100_000_000  # stdout/stderr timestamps are out of order by microseconds, not more


class _Batch:
    """Lines waiting to be sent as one record, and the checkpoint key they allow."""

    __slots__ = ("lines", "position", "since", "size")

    def __init__(self, position: tuple[int, int] | None) -> None:
        self.lines: list[Line] = []
        self.size = 0
        self.position = position
        self.since = 0.0  # when the oldest line in hand was added (time.monotonic)

    def extend(self, released: tuple[list[Line], tuple[int, int] | None]) -> None:
        """Add released lines; the batch's checkpoint moves to their key, if they allow one."""
        lines, key = released
        if lines and not self.lines:
            self.since = time.monotonic()
        self.lines.extend(lines)
        self.size += sum(len(line[3]) for line in lines) + 64 * len(lines)
        if key is not None:
            self.position = key

    def full(self, settings: Settings) -> bool:
        return len(self.lines) >= settings.batch_lines or self.size >= settings.batch_bytes

    def wait_s(self, flush_interval_s: float) -> float:
        """How long to wait for more lines: until the oldest line in hand has waited ``flush_interval_s``
        (a steady writer never leaves the stream idle that long), or that long when nothing is in hand."""
        if not self.lines:
            return flush_interval_s
        return max(0.0, self.since + flush_interval_s - time.monotonic())

    def take(self) -> tuple[list[Line], tuple[int, int] | None]:
        lines, self.lines, self.size = self.lines, [], 0
        return lines, self.position


class ResumeSkip:
    """Skips what was shipped before ``position``, the last line shipped, in stream order.

    stdout and stderr lines are not strictly in time order, so "skip every line not newer than the
    position" could drop a late line. Instead the read starts a window before the position, and
    every line up to and including the position's own line is skipped: stream order on a read from
    a fixed ``since`` is the same every time. If that line is never seen (Docker rotated its log
    file away, and with it every line before it), a line more than RESUME_SKEW_NS newer than the
    position ends the skipping: it and what follows are shipped, and ``gap`` holds the position and
    that line's timestamp (lines written between them may be gone from Docker).
    """

    def __init__(self, position: tuple[int, int] | None) -> None:
        self.position = position
        self.active = position is not None
        self.since = docker_since(max(0, position[0] - RESUME_WINDOW_NS)) if position else "0"
        self.gap: tuple[int, int] | None = None

    def already_shipped(self, line: Line) -> bool:
        assert self.position is not None
        key = (line[0], line[1])
        if key == self.position:
            self.active = False
            return True
        if line[0] > self.position[0] + RESUME_SKEW_NS:
            self.active = False
            self.gap = (self.position[0], line[0])
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
        self.acks = AckLedger(container_id, checkpoints, stats)

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
        await self.acks.drain()
        finished = str(info.get("State", {}).get("FinishedAt", ""))
        self.checkpoints.mark_finished(self.container_id, finished)
        log.info("container_done", container=meta.name, container_id=self.container_id[:12])

    async def _read(
        self, meta: ContainerMeta, meta_json: dict[str, Any], position: tuple[int, int] | None, follow: bool
    ) -> tuple[int, int] | None:
        """Read from just after ``position``; return the position of the last line read."""
        assembler = LineAssembler(meta.tty, self.settings.max_line_bytes)
        joiner = Joiner.for_labels(meta.labels, self.settings.multiline_flush_s)
        skip = ResumeSkip(position)
        batch = _Batch(position)
        tail = b""  # the end of the previous read, for a trigger word split across two reads
        trigger_held = False  # a trigger was read but its line is not complete yet
        log.info("reading", container=meta.name, since=skip.since, follow=follow, resume=position)
        async with self.docker.logs(self.container_id, follow=follow, since=skip.since) as stream:
            while True:
                try:
                    async with asyncio.timeout(batch.wait_s(self.settings.flush_interval_s)):
                        chunk = await stream.readany()
                except TimeoutError:
                    batch.extend(joiner.expired())
                    await self._send(meta_json, batch)
                    continue
                self.stats.bytes_read += len(chunk)
                lines = assembler.feed(chunk) if chunk else assembler.finish()
                if skip.active:
                    kept = [line for line in lines if not (skip.active and skip.already_shipped(line))]
                    self.stats.lines_skipped += len(lines) - len(kept)
                    lines = kept
                    if skip.gap is not None:
                        self._report_gap(meta, skip.gap)
                trigger = joiner.may_start(tail + chunk)
                batch.extend(joiner.feed(lines, trigger or trigger_held))
                trigger_held = (trigger or trigger_held) and assembler.holding()
                tail = chunk[-16:]
                if chunk:
                    batch.extend(joiner.expired())
                else:
                    batch.extend(joiner.flush())
                if batch.full(self.settings) or not chunk or batch.wait_s(self.settings.flush_interval_s) == 0:
                    await self._send(meta_json, batch)
                if not chunk:
                    return batch.position

    def _report_gap(self, meta: ContainerMeta, gap: tuple[int, int]) -> None:
        """The line at the checkpoint is gone from Docker: say which stretch may have been lost."""
        self.stats.gaps += 1
        log.warning(
            "log_gap",
            container=meta.name,
            container_id=self.container_id[:12],
            last_shipped=format_ts(gap[0]),
            next_line=format_ts(gap[1]),
            reason="the checkpoint's line is no longer in Docker's log (rotated away); lines between may be lost",
        )

    async def _send(self, meta_json: dict[str, Any], batch: _Batch) -> None:
        if not batch.lines:
            return
        await self.acks.wait_for_room()
        lines, position = batch.take()
        value = encode_raw(self.settings.host_name, meta_json, lines)
        future = await self.producer.send(self.settings.topic_raw, value=value, key=self.container_id.encode())
        self.acks.add(future, position, len(lines))
        self.stats.records_sent += 1
        self.stats.lines_read += len(lines)
