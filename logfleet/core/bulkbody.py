"""The ``_bulk`` body and the data-stream names: how events and dead letters travel from the
processor through Kafka to the search engine, and where they land.

A body is pairs of lines, each pair one item: a ``create`` action naming the data stream and the
document's deterministic ``_id``, then the document. The processor writes bodies, the oversize
splitter cuts them between items, the indexer splits them into items and joins the items it still
has to send into requests. Every log line lands in ``logs-<dataset>-<namespace>``, the dataset taken
from the container (:func:`dataset_for`); dead letters land in ``logs-logfleet.deadletter-<namespace>``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

Item = tuple[bytes, bytes]  # (action line, document line), without their line ends
DEADLETTER_DATASET = "logfleet.deadletter"
DATASET_LABEL = "logfleet.dataset"
_DATASET_UNSAFE = re.compile(r"[^a-z0-9_.]+")


def data_stream(dataset: str, namespace: str) -> str:
    """The data stream of a dataset in a namespace (``*`` as either gives a pattern)."""
    return f"logs-{dataset}-{namespace}"


def deadletter_stream(namespace: str) -> str:
    """The dead-letter data stream of a namespace."""
    return data_stream(DEADLETTER_DATASET, namespace)


def dataset_for(container: dict[str, Any]) -> str:
    """The dataset of a container's lines: its ``logfleet.dataset`` label, its Compose service, or its
    name, lower-cased with anything but ``a-z0-9_.`` made ``_`` (at most 80 characters)."""
    labels = container.get("labels") or {}
    raw = labels.get(DATASET_LABEL) or container.get("compose_service") or container.get("name") or "unknown"
    cleaned = _DATASET_UNSAFE.sub("_", str(raw).lower()).strip("_.")
    return (cleaned or "unknown")[:80]


def action_line(index: str, doc_id: str) -> bytes:
    """The ``create`` action of a document with ``doc_id`` in ``index`` (no line end)."""
    return orjson.dumps({"create": {"_index": index, "_id": doc_id}})


def split_items(body: bytes) -> list[Item]:
    """A body's items, in order."""
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return list(zip(lines[0::2], lines[1::2], strict=False))


def join_items(items: list[Item]) -> bytes:
    """Items as one body (each line ended by a newline, as ``_bulk`` wants)."""
    return b"".join(action + b"\n" + doc + b"\n" for action, doc in items)
