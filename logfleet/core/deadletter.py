"""Dead letters: records that could not become (or be stored as) normal events, kept for audit.

A dead letter is a document in the data stream ``logs-logfleet.deadletter-<namespace>`` with the
reason in ``error.type``/``error.message``, the original content in ``event.original`` and where it
came from. It travels on the dead-letter topic in the same ``_bulk`` line format as events, so the
indexer writes both the same way.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Any

import orjson

from logfleet.core.bulkbody import DEADLETTER_DATASET, action_line, deadletter_stream, join_items
from logfleet.core.model import format_ts

DATASET = DEADLETTER_DATASET
MAX_ORIGINAL = 256 * 1024
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)$")
_KEPT_FIELDS = (("container", "id"), ("container", "name"), ("service", "name"), ("host", "name"))


def stream_name(namespace: str) -> str:
    """The dead-letter data stream of a namespace."""
    return deadletter_stream(namespace)


def bulk_lines(
    namespace: str, reason: str, message: str, original: str, seed: str, extra: dict[str, Any] | None = None
) -> bytes:
    """One dead letter as ``_bulk`` lines; ``seed`` makes its ``_id`` deterministic."""
    doc_id = hashlib.blake2b(f"dlq|{seed}|{reason}".encode(), digest_size=16).hexdigest()
    doc: dict[str, Any] = dict(extra or {})
    doc.update(
        {
            "@timestamp": doc.get("@timestamp") or format_ts(time.time_ns()),
            "message": message,
            "error": {"type": reason, "message": message},
            "event": {
                **(doc.get("event") or {}),  # what the caller knows of the record (its sequence)
                "id": doc_id,
                "original": original[:MAX_ORIGINAL],
                "ingested": format_ts(time.time_ns()),
            },
            "data_stream": {"type": "logs", "dataset": DATASET, "namespace": namespace},
        }
    )
    return join_items([(action_line(stream_name(namespace), doc_id), orjson.dumps(doc))])


def _storable_time(stamp: Any) -> bool:
    """True for an RFC 3339 string that ``date_nanos`` stores (1970 to 2262 only: a stamp outside would
    get the dead letter refused too)."""
    return isinstance(stamp, str) and _RFC3339.match(stamp) is not None and "1970" <= stamp[:4] <= "2261"


def of_item(namespace: str, action: bytes, doc: bytes, reason: str, message: str, original: str) -> bytes:
    """The dead letter of one ``_bulk`` item (action and document lines) that cannot go on as it is.

    It keeps the item's identity: the event id and target index (those a dead letter names, when the
    item is a dead letter already), so a replay finds the line's own ``_id``; and of the document only
    what cannot have been the reason it was refused (container, service and host names, stream,
    sequence, a valid ``@timestamp`` and ``event.created``), so the dead letter itself is always storable.
    """
    target = orjson.loads(action).get("create", {})
    event_id, index = str(target.get("_id", "")), str(target.get("_index", ""))
    pipeline: dict[str, Any] = {"target_index": index, "event_id": event_id}
    extra: dict[str, Any] = {"logfleet": pipeline}
    try:
        parsed = orjson.loads(doc)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        own = parsed.get("logfleet")
        if index == stream_name(namespace) and isinstance(own, dict):  # a dead letter already
            pipeline["event_id"] = str(own.get("event_id", event_id))
            pipeline["target_index"] = str(own.get("target_index", index))
        stamp = parsed.get("@timestamp")
        if _storable_time(stamp):
            extra["@timestamp"] = stamp
        for outer, inner in _KEPT_FIELDS:
            group = parsed.get(outer)
            value = group.get(inner) if isinstance(group, dict) else None
            if isinstance(value, str):
                extra.setdefault(outer, {})[inner] = value
        if parsed.get("stream") in ("stdout", "stderr"):
            extra["stream"] = parsed["stream"]
        event = parsed.get("event")
        kept: dict[str, Any] = {}
        sequence = event.get("sequence") if isinstance(event, dict) else None
        if type(sequence) is int and 0 <= sequence < 2**31:
            kept["sequence"] = sequence
        created = event.get("created") if isinstance(event, dict) else None
        if _storable_time(created):
            kept["created"] = created
        if kept:
            extra["event"] = kept
    return bulk_lines(namespace, reason, message, original, seed=pipeline["event_id"], extra=extra)
