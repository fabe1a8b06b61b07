"""Consumer lag: how many records a consumer group has not committed yet, per partition and per topic.

One formula serves both places that report lag: ``logfleet status`` (end offsets of a groupless
consumer against the group's committed offsets read by the admin client, see ``logfleet/ops/status.py``)
and the daemons themselves. A partition's lag is its end offset minus the group's committed offset,
or minus its beginning offset when the group never committed there (``auto_offset_reset=earliest``:
everything still in the topic is still to be read).

:class:`LagMonitor` is the daemons' part: a small periodic task that asks the member's own consumer
for the end and committed offsets of the partitions this member owns (two short requests every
``interval_s`` seconds; it never moves the consumer's position) and serves the sum per topic as the
gauge ``logfleet_<stage>_consumer_lag_records{topic=...}``. Topics are the configured ones, so the
label set is closed. A member that owns no partition of a topic reports 0 for it: summed over the
group's members (``sum by (topic)``) the gauge is the group's lag. Until the first measurement, and
while Kafka does not answer, no sample is served rather than a stale one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from logfleet.core.metrics import Metric
from logfleet.core.telemetry import get_logger

log = get_logger("lag")
INTERVAL_S = 5.0
TIMEOUT_S = 15.0


@dataclasses.dataclass(frozen=True)
class PartitionLag:
    """The position of a group on one partition."""

    topic: str
    partition: int
    end_offset: int
    committed: int | None  # None: the group never committed on this partition
    lag: int

    def as_json(self) -> dict[str, Any]:
        """The row as ``logfleet status --format json`` prints it."""
        return dataclasses.asdict(self)


def partition_lags(
    partitions: list[TopicPartition],
    ends: Mapping[TopicPartition, int],
    starts: Mapping[TopicPartition, int],
    committed: Mapping[TopicPartition, int | None],
) -> list[PartitionLag]:
    """Lag per partition from end, beginning and committed offsets (a negative committed is none)."""
    rows = []
    for tp in partitions:
        done = committed.get(tp)
        done = done if done is not None and done >= 0 else None
        lag = ends[tp] - (starts[tp] if done is None else done)
        rows.append(PartitionLag(tp.topic, tp.partition, ends[tp], done, lag))
    return rows


def per_topic(rows: list[PartitionLag], topics: list[str]) -> dict[str, int]:
    """Lag summed per topic; every topic of ``topics`` is present (0 when no row is about it)."""
    sums = dict.fromkeys(topics, 0)
    for row in rows:
        sums[row.topic] = sums.get(row.topic, 0) + row.lag
    return sums


async def member_lag(consumer: AIOKafkaConsumer, topics: list[str]) -> dict[str, int]:
    """The lag of the partitions ``consumer`` (a group member) owns now, summed per topic."""
    owned = sorted(consumer.assignment(), key=lambda tp: (tp.topic, tp.partition))
    if not owned:
        return per_topic([], topics)
    ends = await consumer.end_offsets(owned)
    committed = {tp: await consumer.committed(tp) for tp in owned}
    never = [tp for tp, offset in committed.items() if offset is None or offset < 0]
    starts = await consumer.beginning_offsets(never) if never else {}
    return per_topic(partition_lags(owned, ends, starts, committed), topics)


def metric_names(stage: str) -> list[str]:
    """The names (without ``logfleet_``) a stage's monitor serves."""
    return [f"{stage}_consumer_lag_records"]


class LagMonitor:
    """Measures a group member's lag every ``interval_s`` seconds and serves it as a gauge."""

    def __init__(self, stage: str, topics: list[str], interval_s: float = INTERVAL_S) -> None:
        self.stage = stage
        self.topics = list(topics)
        self.interval_s = interval_s
        self.lag: dict[str, int] = {}  # empty until measured, and while Kafka does not answer
        self.measured_at: float | None = None

    def metrics(self) -> list[Metric]:
        """One gauge sample per configured topic, once measured."""
        (name,) = metric_names(self.stage)
        return [
            Metric(
                name,
                "gauge",
                f"Records of the {self.stage} group not yet committed (end offset minus committed offset), "
                "over the partitions this member owns.",
                float(lag),
                (("topic", topic),),
            )
            for topic, lag in sorted(self.lag.items())
        ]

    async def measure(self, consumer: AIOKafkaConsumer) -> None:
        """Take one measurement now (a failure drops the samples and is logged, never raised)."""
        try:
            self.lag = await asyncio.wait_for(member_lag(consumer, self.topics), TIMEOUT_S)
            self.measured_at = time.time()
        except Exception as exc:  # a measurement must never stop the daemon it watches
            if self.lag or not isinstance(exc, (KafkaError, OSError, TimeoutError)):
                log.warning("lag_unavailable", stage=self.stage, error=str(exc) or type(exc).__name__)
            self.lag = {}

    @contextlib.asynccontextmanager
    async def watching(self, consumer: AIOKafkaConsumer) -> AsyncIterator[LagMonitor]:
        """Measure ``consumer``'s lag periodically for the duration of the block."""
        task = asyncio.create_task(self._loop(consumer))
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.lag = {}

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            await self.measure(consumer)
            await asyncio.sleep(self.interval_s)
