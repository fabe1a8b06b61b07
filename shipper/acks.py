"""Kafka acknowledgements of one container's records, settled strictly in send order.

A record's future resolves when Kafka acknowledged it (``acks=all``: every in-sync replica has it)
or failed. Futures may resolve out of order; the checkpoint only ever moves over the acknowledged
*prefix* of what was sent, so a line is never recorded as shipped while an earlier one is not. The
first failure stops the advance for good: everything sent after it must be sent again, from the
checkpoint, by a new follower. At most ``limit`` records are in flight, which bounds memory when
Kafka is slow or away.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field
from typing import Any

from logfleet.core.errors import DeliveryError
from shipper.checkpoints import CheckpointStore

MAX_IN_FLIGHT = 8


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
    gaps: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class AckLedger:
    """The records of one container that were sent and not yet settled, oldest first."""

    def __init__(self, container_id: str, checkpoints: CheckpointStore, stats: ShipperStats,
                 limit: int = MAX_IN_FLIGHT) -> None:
        self.container_id = container_id
        self.checkpoints = checkpoints
        self.stats = stats
        self.limit = limit
        self.failure: BaseException | None = None
        self._in_flight: collections.deque[tuple[asyncio.Future[Any], tuple[int, int] | None, int]] = (
            collections.deque()
        )
        self._room = asyncio.Event()
        self._room.set()

    def __len__(self) -> int:
        return len(self._in_flight)

    def check(self) -> None:
        """Raise DeliveryError if a record failed (nothing after it may be acknowledged)."""
        if self.failure is not None:
            raise DeliveryError(f"Kafka send failed: {self.failure}") from self.failure

    async def wait_for_room(self) -> None:
        """Wait until fewer than ``limit`` records are in flight; raise if one failed meanwhile."""
        self.check()
        while len(self._in_flight) >= self.limit:
            self._room.clear()
            await self._room.wait()
            self.check()

    def add(self, future: asyncio.Future[Any], position: tuple[int, int] | None, lines: int) -> None:
        """Track a sent record that allows the checkpoint ``position`` (timestamp ns, ordinal; None
        when the joiner still holds a record from before its lines, see ``shipper/multiline.py``)."""
        self._in_flight.append((future, position, lines))
        self.stats.in_flight += 1
        future.add_done_callback(self.settle)

    def settle(self, _: object = None) -> None:
        """Advance the checkpoint over the acknowledged prefix of what was sent."""
        while self._in_flight and self._in_flight[0][0].done():
            future, position, count = self._in_flight.popleft()
            self.stats.in_flight -= 1
            if future.cancelled() or future.exception() is not None:
                self.stats.send_errors += 1
                self.failure = future.exception() or asyncio.CancelledError()
                for rest, _, _ in self._in_flight:  # sent after a failure: must be sent again
                    rest.add_done_callback(lambda f: f.cancelled() or f.exception())
                self.stats.in_flight -= len(self._in_flight)
                self._in_flight.clear()
                break
            if position is not None:
                self.checkpoints.advance(self.container_id, position)
            self.stats.lines_acked += count
        self._room.set()

    async def drain(self) -> None:
        """Wait until every record sent so far was settled; raise if one failed."""
        while self._in_flight:
            await asyncio.wait([self._in_flight[-1][0]])
            self.settle()
        self.check()
