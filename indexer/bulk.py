"""Write ``_bulk`` items to the search engine (Elasticsearch or OpenSearch) until every one of them is final.

Items are ``(action_line, document_line)`` pairs as the processor produced them. Each item of the
answer is handled on its own: 2xx is done, 409 on ``create`` means the document is already there and
is done too, 429 and 5xx are retried for that item only with exponential backoff and jitter, and any
other error (a 400 mapping or parse error) turns the item into a dead letter that carries the
server's reason. A dead letter that is itself rejected is counted and logged, never retried forever.
An unreachable server is retried without end: the caller does not commit meanwhile.
"""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass
from typing import Any, Protocol

from logfleet.core import deadletter
from logfleet.core.bulkbody import Item, join_items, split_items
from logfleet.core.errors import ElasticsearchUnreachable, LogfleetError
from logfleet.core.retry import backoff
from logfleet.core.telemetry import get_logger

log = get_logger("indexer")


class BulkEndpoint(Protocol):
    """What the writer needs of a search engine (:class:`logfleet.clients.search.Engine` is one)."""

    async def bulk(self, body: bytes) -> dict[str, Any]:
        """Send one ``_bulk`` request; the answer has one result per item, in order."""
        ...


class Outcome(enum.Enum):
    """What becomes of one ``_bulk`` item after the engine answered it."""

    STORED = "stored"  # 2xx
    DUPLICATE = "duplicate"  # 409 on create: a replay of a document already stored
    RETRY = "retry"  # 429 or 5xx: the engine is busy or failing; send this item again
    REJECTED = "rejected"  # any other error (400 mapping/parse): it will never be stored as it is


def classify(status: int) -> Outcome:
    """The outcome of an item answered with HTTP ``status``."""
    if status < 300:
        return Outcome.STORED
    if status == 409:
        return Outcome.DUPLICATE
    if status == 429 or status >= 500:
        return Outcome.RETRY
    return Outcome.REJECTED


@dataclass
class BulkStats:
    """Counters of what happened to bulk items."""

    created: int = 0
    duplicates: int = 0
    retried: int = 0
    dead_lettered: int = 0
    dead_letters_rejected: int = 0
    requests: int = 0


def chunks(items: list[Item], max_docs: int, max_bytes: int) -> list[list[Item]]:
    """``items`` cut into requests of at most ``max_docs`` items and ``max_bytes`` bytes, in order.

    Documents are spread evenly rather than filling requests and leaving a remainder: 2,500
    documents with a limit of 2,000 go as two requests of 1,250, since a request costs the server
    about the same whatever its size. An item over ``max_bytes`` on its own goes alone.
    """
    target = -(-len(items) // max(1, -(-len(items) // max_docs))) if items else 0
    out: list[list[Item]] = []
    start = 0
    while start < len(items):
        end, size = start, 0
        while end < len(items) and end - start < target:
            item_size = len(items[end][0]) + len(items[end][1]) + 2
            if end > start and size + item_size > max_bytes:
                break
            size += item_size
            end += 1
        out.append(items[start:end])
        start = end
    return out


class BulkWriter:
    """Writes items with per-item outcomes; one instance per indexer."""

    def __init__(self, engine: BulkEndpoint, namespace: str, max_docs: int, max_bytes: int) -> None:
        self.engine = engine
        self.namespace = namespace
        self.max_docs = max_docs
        self.max_bytes = max_bytes
        self.stats = BulkStats()

    async def write(self, items: list[Item]) -> None:
        """Return once every item was stored, found already stored, or dead-lettered."""
        for chunk in chunks(items, self.max_docs, self.max_bytes):
            await self._write_chunk(chunk)

    async def _write_chunk(self, items: list[Item]) -> None:
        pending = [(action, doc, False) for action, doc in items]
        attempt = 0
        while pending:
            body = join_items([(action, doc) for action, doc, _ in pending])
            try:
                answer = await self.engine.bulk(body)
                self.stats.requests += 1
            except (ElasticsearchUnreachable, LogfleetError) as exc:
                delay = backoff(attempt, base=0.2, floor=0.05)
                attempt += 1
                log.warning("bulk_request_failed", error=str(exc), items=len(pending), retry_in=round(delay, 2))
                await asyncio.sleep(delay)
                continue
            retry: list[tuple[bytes, bytes, bool]] = []
            for (action, doc, is_dead_letter), result in zip(pending, answer.get("items", []), strict=False):
                outcome = next(iter(result.values()))
                kind = classify(int(outcome.get("status", 500)))
                if kind is Outcome.STORED:
                    self.stats.created += 1
                elif kind is Outcome.DUPLICATE:
                    self.stats.duplicates += 1
                elif kind is Outcome.RETRY:
                    retry.append((action, doc, is_dead_letter))
                elif is_dead_letter:
                    self.stats.dead_letters_rejected += 1
                    log.error("dead_letter_rejected", error=outcome.get("error"))
                else:
                    retry.append((*dead_letter(self.namespace, action, doc, outcome.get("error") or {}), True))
                    self.stats.dead_lettered += 1
            if len(answer.get("items", [])) < len(pending):
                retry.extend(pending[len(answer.get("items", [])) :])
            self.stats.retried += sum(1 for item in retry if not item[2])
            pending = retry
            if pending:
                await asyncio.sleep(backoff(attempt, base=0.2, floor=0.05))
                attempt += 1


def dead_letter(namespace: str, action: bytes, doc: bytes, error: dict[str, Any]) -> Item:
    """The dead-letter item for a ``_bulk`` item the engine refused with ``error`` (its ``type`` and
    ``reason``, the same shape on Elasticsearch and OpenSearch)."""
    reason = str(error.get("reason", "rejected by the search engine"))
    kind = f"es_{error.get('type', 'rejected')}"
    lines = deadletter.of_item(namespace, action, doc, kind, reason, doc.decode(errors="replace"))
    return split_items(lines)[0]
