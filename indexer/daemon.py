"""The indexer service: events and dead-letter topics in, the search engine out, commits after success."""

from __future__ import annotations

import asyncio
from typing import Any

from indexer.bulk import BulkStats, BulkWriter
from logfleet.clients import kafka, search
from logfleet.clients.consume import consume_batches
from logfleet.clients.lag import LagMonitor
from logfleet.core.bulkbody import split_items
from logfleet.core.config import Settings
from logfleet.core.metrics import Metric, counters
from logfleet.core.telemetry import get_logger

log = get_logger("indexer")


class Indexer:
    """A member of the indexer consumer group; :meth:`run` returns after :meth:`stop`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stopping = asyncio.Event()
        self.writer: BulkWriter | None = None
        self.lag = LagMonitor("indexer", [settings.topic_events, settings.topic_dlq])

    def stop(self) -> None:
        """Finish the batch in hand, commit it and return from :meth:`run`."""
        self.stopping.set()

    def metrics(self) -> list[Metric]:
        """Counters for ``/metrics``, and the consumer lag gauge."""
        stats = self.writer.stats if self.writer else BulkStats()
        return self.lag.metrics() + counters(
            "indexer",
            {
                "created": (stats.created, "Documents Elasticsearch created."),
                "duplicates": (stats.duplicates, "Items answered 409: already stored, counted as done."),
                "retried": (stats.retried, "Items retried after 429 or 5xx."),
                "dead_lettered": (stats.dead_lettered, "Items rejected by Elasticsearch and dead-lettered."),
                "dead_letters_rejected": (stats.dead_letters_rejected, "Dead letters Elasticsearch rejected too."),
                "bulk_requests": (stats.requests, "Bulk requests answered."),
            },
        )

    def healthy(self) -> bool:
        """Whether the indexer is running (not stopping)."""
        return not self.stopping.is_set()

    async def run(self) -> None:
        """Consume, bulk-write, commit, until stopped."""
        settings = self.settings
        topics = [settings.topic_events, settings.topic_dlq]
        async with (
            search.connect(settings, attempts=1_000_000) as engine,
            kafka.consumer(settings, topics, settings.indexer_group, attempts=1_000_000) as consumer,
        ):
            self.writer = BulkWriter(engine, settings.namespace, settings.bulk_docs, settings.bulk_bytes)
            log.info("indexer_started", topics=topics, engine=engine.name, version=engine.version)
            async with self.lag.watching(consumer):
                await consume_batches(
                    consumer,
                    self._handle,
                    self.stopping,
                    gather_s=settings.bulk_interval_s,
                    gather_weight=settings.bulk_docs,
                    weigh=_documents,
                )
            log.info("indexer_stopped", **vars(self.writer.stats))

    async def _handle(self, records: list[Any]) -> None:
        assert self.writer is not None
        items = [item for record in records for item in split_items(record.value or b"")]
        await self.writer.write(items)


def _documents(record: Any) -> int:
    """How many documents a record of the events or dead-letter topic holds (two lines each)."""
    return (record.value or b"").count(b"\n") // 2
