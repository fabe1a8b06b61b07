"""Dead letters: records that could not become (or be stored as) normal events, kept for audit.

A dead letter is a document in the data stream ``logs-logfleet.deadletter-<namespace>`` with the
reason in ``error.type``/``error.message``, the original content in ``event.original`` and where it
came from. It travels on the dead-letter topic in the same ``_bulk`` line format as events, so the
indexer writes both the same way.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import orjson

from logfleet.model import format_ts

DATASET = "logfleet.deadletter"
MAX_ORIGINAL = 256 * 1024


def stream_name(namespace: str) -> str:
    """The dead-letter data stream of a namespace."""
    return f"logs-{DATASET}-{namespace}"


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
    return (
        orjson.dumps({"create": {"_index": stream_name(namespace), "_id": doc_id}})
        + b"\n"
        + orjson.dumps(doc)
        + b"\n"
    )
