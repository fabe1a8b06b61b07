"""Keep every record the processor sends under Kafka's message size limit.

One raw record can build an events body larger than a Kafka message may be
(:data:`logfleet.clients.kafka.MAX_REQUEST_BYTES`, 16 MiB): a 10 MB JSON line becomes an event holding it
twice (``message`` and ``event.original``), and a record of many long lines adds up. Such a send fails
every time, so the batch would be retried without end and its partitions would be stuck.
:func:`fit` passes a body under the limit through untouched; a larger one is split into bodies under
the limit (items in order), and an item that is over the limit on its own becomes a small dead
letter, reason ``too_large_for_kafka``, holding the first 64 KiB of the document, its event id and
target index: every line still ends as exactly one event or one dead letter.
"""

from __future__ import annotations

import dataclasses

from logfleet.clients.kafka import MAX_REQUEST_BYTES
from logfleet.core import deadletter
from logfleet.core.bulkbody import Item, join_items, split_items
from processor.events import Built

LIMIT = MAX_REQUEST_BYTES - 64 * 1024  # room for the key, headers and Kafka's framing
KEPT = 64 * 1024
REASON = "too_large_for_kafka"


@dataclasses.dataclass(slots=True)
class Fitted:
    """What one raw record became, as bodies that each fit in one Kafka message."""

    events: list[bytes]
    dead_letters: list[bytes]
    event_count: int
    dead_letter_count: int


def fit(built: Built, namespace: str, limit: int = LIMIT) -> Fitted:
    """``built`` as Kafka-sized bodies; events too large on their own are moved to the dead letters."""
    if len(built.events) <= limit and len(built.dead_letters) <= limit:  # the usual case: nothing to do
        return Fitted(
            [built.events] if built.events else [],
            [built.dead_letters] if built.dead_letters else [],
            built.event_count,
            built.dead_letter_count,
        )
    events, too_large = _split(built.events, limit)
    dead_letters, dead_too_large = _split(built.dead_letters, limit)
    replacements = b"".join(_too_large(namespace, action, doc, limit) for action, doc in too_large + dead_too_large)
    if replacements:
        dead_letters.extend(_split(replacements, limit)[0])
    return Fitted(
        events, dead_letters, built.event_count - len(too_large), built.dead_letter_count + len(too_large)
    )


def _split(body: bytes, limit: int) -> tuple[list[bytes], list[Item]]:
    """Bodies of at most ``limit`` bytes holding the items of ``body`` in order, and the items that
    are over ``limit`` on their own."""
    bodies: list[bytes] = []
    alone: list[Item] = []
    chunk: list[Item] = []
    size = 0
    for action, doc in split_items(body):
        item = len(action) + len(doc) + 2
        if item > limit:
            alone.append((action, doc))
            continue
        if size + item > limit:
            bodies.append(join_items(chunk))
            chunk, size = [], 0
        chunk.append((action, doc))
        size += item
    if chunk:
        bodies.append(join_items(chunk))
    return bodies, alone


def _too_large(namespace: str, action: bytes, doc: bytes, limit: int) -> bytes:
    """A small dead letter standing for one document that cannot travel through Kafka."""
    message = f"document of {len(doc)} bytes is over the Kafka message limit of {limit} bytes"
    original = doc[: min(KEPT, limit // 4)].decode(errors="replace")
    return deadletter.of_item(namespace, action, doc, REASON, message, original)
