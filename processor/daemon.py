"""The processor service: raw topic in, events and dead letters out, offsets committed after acks.

Each raw record becomes one record on the events topic holding the ``_bulk`` lines of all its events
and, when some of its lines are dead letters (format violations under ``strict``, lines that could
not be processed), one record on the dead-letter topic holding theirs; both are keyed by container
id. A record that cannot be read as a raw record at all goes to the dead-letter topic whole, with
the reason, so nothing disappears without a count. The batch's offsets are committed only after
every record sent for it, on both topics, was acknowledged (see ``logfleet/clients/consume.py``).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaProducer

from logfleet.clients import kafka
from logfleet.clients.consume import consume_batches
from logfleet.clients.lag import LagMonitor
from logfleet.core import deadletter
from logfleet.core.config import Settings
from logfleet.core.metrics import Metric, counters
from logfleet.core.model import decode_raw
from logfleet.core.telemetry import get_logger
from processor.enforce import FormatChecker
from processor.events import Built, EventBuilder
from processor.masking import Masker
from processor.oversize import fit
from processor.parse import use_named_patterns
from processor.policy import PolicyResolver

log = get_logger("processor")


def builder_for(settings: Settings) -> EventBuilder:
    """An EventBuilder configured from settings (raises ConfigError on a bad policy or pattern).

    The named parse patterns (``parse_patterns``) are compiled and registered for ``parse_line``.
    """
    use_named_patterns(settings.parse_patterns)
    return EventBuilder(
        settings.namespace,
        policies=PolicyResolver(settings.format_policy, settings.format_policy_services),
        checker=FormatChecker(settings.format_max_line_bytes, settings.format_max_future_s),
        masker=Masker(settings.mask_patterns),
        max_past_s=settings.event_time_max_past_s,
    )


@dataclasses.dataclass
class ProcessorStats:
    """Counters the processor exposes as metrics; every label set is closed.

    ``records_in``, ``events_out`` and ``dead_letters`` count what was acknowledged; the labelled
    counters (violations, dead-letter reasons, masked lines) count lines as they are built, so a batch
    that is retried after a failed send is counted again.
    """

    records_in: int = 0
    events_out: int = 0
    dead_letters: int = 0
    unreadable_records: int = 0
    violations: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)
    dead_letter_reasons: Counter[str] = dataclasses.field(default_factory=Counter)
    lines_masked: Counter[str] = dataclasses.field(default_factory=Counter)


class Processor:
    """A member of the processor consumer group; :meth:`run` returns after :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.builder = builder_for(settings)
        self.stopping = asyncio.Event()
        self.lag = LagMonitor("processor", [settings.topic_raw])
        self.stats = ProcessorStats(
            violations=self.builder.violations,
            dead_letter_reasons=self.builder.dead_letter_reasons,
            lines_masked=self.builder.masker.lines_masked,
        )

    @property
    def records_in(self) -> int:
        """Raw records consumed so far."""
        return self.stats.records_in

    @property
    def events_out(self) -> int:
        """Events produced so far."""
        return self.stats.events_out

    @property
    def dead_letters(self) -> int:
        """Dead letters produced so far (lines, plus whole unreadable records)."""
        return self.stats.dead_letters

    def stop(self) -> None:
        """Finish the batch in hand, commit it and return from :meth:`run`."""
        self.stopping.set()

    def metrics(self) -> list[Metric]:
        """Counters for ``/metrics``; labels are reasons, policies and mask kinds (closed sets)."""
        stats = self.stats
        out = counters(
            "processor",
            {
                "records_in": (stats.records_in, "Raw records consumed and acknowledged downstream."),
                "events_out": (stats.events_out, "Events produced to the events topic."),
                "dead_letters": (stats.dead_letters, "Dead letters produced to the dead-letter topic."),
                "unreadable_records": (stats.unreadable_records, "Raw records that could not be read at all."),
            },
        )
        out.extend(
            Metric(
                "processor_format_violations_total",
                "counter",
                "Lines breaking the log format, per reason and policy (a line can have several reasons).",
                count,
                (("reason", reason), ("policy", policy)),
            )
            for (reason, policy), count in sorted(stats.violations.items())
        )
        out.extend(
            Metric(
                "processor_dead_letters_by_reason_total",
                "counter",
                "Dead letters per (first) reason.",
                count,
                (("reason", reason),),
            )
            for reason, count in sorted(stats.dead_letter_reasons.items())
        )
        out.extend(
            Metric(
                "processor_lines_masked_total",
                "counter",
                "Lines with a masked secret, per kind.",
                count,
                (("kind", kind),),
            )
            for kind, count in sorted(stats.lines_masked.items())
        )
        out.extend(self.lag.metrics())
        return out

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
            async with self.lag.watching(consumer):
                await consume_batches(consumer, lambda records: self.handle_batch(producer, records), self.stopping)
        stats = self.stats
        log.info(
            "processor_stopped",
            records_in=stats.records_in,
            events_out=stats.events_out,
            dead_letters=stats.dead_letters,
            violations={f"{reason}/{policy}": n for (reason, policy), n in stats.violations.items()},
            lines_masked=dict(stats.lines_masked),
        )

    def build(self, record: Any) -> Built:
        """What one consumed Kafka record becomes; an unreadable record becomes one dead letter."""
        try:
            return self.builder.bulk_lines(decode_raw(record.value))
        except Exception as exc:  # not a raw record (or not one this version can read)
            where = f"{record.topic}/{record.partition}/{record.offset}"
            self.stats.unreadable_records += 1
            body = deadletter.bulk_lines(
                self.settings.namespace,
                "unreadable_raw_record",
                f"raw record at {where} is unreadable: {type(exc).__name__}: {exc}",
                (record.value or b"").decode(errors="replace"),
                seed=where,
            )
            return Built(dead_letters=body, dead_letter_count=1)

    async def handle_batch(self, producer: AIOKafkaProducer, records: list[Any]) -> None:
        """Process one batch of raw records and send its events and dead letters; returns once Kafka
        acknowledged all of them (the consume loop commits after that), raises if any send failed."""
        futures = []
        settings = self.settings
        events = dead_letters = 0
        for record in records:
            built = fit(self.build(record), settings.namespace)  # bodies Kafka accepts, never a stuck batch
            for body in built.events:
                futures.append(await producer.send(settings.topic_events, value=body, key=record.key))
            for body in built.dead_letters:
                futures.append(await producer.send(settings.topic_dlq, value=body, key=record.key))
            events += built.event_count
            dead_letters += built.dead_letter_count
        await asyncio.gather(*futures)  # both topics acknowledged: only now may the batch be committed
        self.stats.records_in += len(records)
        self.stats.events_out += events
        self.stats.dead_letters += dead_letters
