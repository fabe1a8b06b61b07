"""The processor service: raw topic in, events (and dead letters) out, offsets committed after acks.

Each raw record becomes one record on the events topic holding the ``_bulk`` lines of all its events,
keyed by container id. A record that cannot be read as a raw record goes to the dead-letter topic with
the reason, so nothing disappears without a count.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from logfleet import deadletter, kafka
from logfleet.config import Settings
from logfleet.consume import consume_batches
from logfleet.metrics import Metric, counters
from logfleet.model import decode_raw
from logfleet.telemetry import get_logger
from processor.events import EventBuilder

log = get_logger("processor")


class Processor:
    """A member of the processor consumer group; :meth:`run` returns after :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.builder = EventBuilder(settings.namespace)
        self.stopping = asyncio.Event()
        self.records_in = 0
        self.events_out = 0
        self.dead_letters = 0

    def stop(self) -> None:
        """Finish the batch in hand, commit it and return from :meth:`run`."""
        self.stopping.set()

    def metrics(self) -> list[Metric]:
        """Counters for ``/metrics``."""
        return counters(
            "processor",
            {
                "records_in": (self.records_in, "Raw records consumed and acknowledged downstream."),
                "events_out": (self.events_out, "Events produced to the events topic."),
                "dead_letters": (self.dead_letters, "Records sent to the dead-letter topic."),
            },
        )

    def healthy(self) -> bool:
        """Whether the processor is running (not stopping)."""
        return not self.stopping.is_set()

    async def run(self) -> None:
        """Consume, transform, produce, commit, until stopped."""
        async with (
            kafka.producer(self.settings, attempts=1_000_000) as producer,
            kafka.consumer(
                self.settings, [self.settings.topic_raw], self.settings.processor_group, attempts=1_000_000
            ) as consumer,
        ):
            log.info("processor_started", topic=self.settings.topic_raw)
            await consume_batches(consumer, lambda records: self._handle(producer, records), self.stopping)
        log.info("processor_stopped", records_in=self.records_in, events_out=self.events_out)

    async def _handle(self, producer: AIOKafkaProducer, records: list[Any]) -> None:
        futures = []
        for record in records:
            try:
                raw = decode_raw(record.value)
                body = self.builder.bulk_lines(raw)
                topic = self.settings.topic_events
                self.events_out += len(raw["lines"])
            except (ValueError, TypeError, KeyError) as exc:
                where = f"{record.topic}/{record.partition}/{record.offset}"
                body = deadletter.bulk_lines(
                    self.settings.namespace,
                    "unreadable_raw_record",
                    f"raw record at {where} is unreadable: {exc}",
                    (record.value or b"").decode(errors="replace"),
                    seed=where,
                )
                topic = self.settings.topic_dlq
                self.dead_letters += 1
            futures.append(await producer.send(topic, value=body, key=record.key))
        self.records_in += len(records)
        await asyncio.gather(*futures)
