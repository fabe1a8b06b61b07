"""Turn one raw record (many lines of one container) into Elasticsearch bulk lines.

Each line becomes an ECS-shaped event: ``@timestamp`` is Docker's timestamp with nanoseconds,
``event.sequence`` the line's ordinal within it, ``event.id`` the deterministic id that is also the
document ``_id``. ``event.original`` is kept when it differs from ``message`` (for plain text the
message is the original line, and storing it twice would double the index). Container, host and
service fields come once per record. The output is the body of a ``_bulk`` request (a ``create``
action line and a document line per event), so the indexer can pass it to Elasticsearch without
decoding it again.
"""

from __future__ import annotations

import re
import time
from typing import Any

import orjson

from logfleet.model import event_id, format_ts
from processor.parse import parse_line

_DATASET_UNSAFE = re.compile(r"[^a-z0-9_.]+")
DATASET_LABEL = "logfleet.dataset"


def dataset_for(container: dict[str, Any]) -> str:
    """The data stream dataset of a container: its label, its Compose service, or its name."""
    labels = container.get("labels") or {}
    raw = labels.get(DATASET_LABEL) or container.get("compose_service") or container.get("name") or "unknown"
    cleaned = _DATASET_UNSAFE.sub("_", str(raw).lower()).strip("_.")
    return (cleaned or "unknown")[:80]


def service_for(container: dict[str, Any]) -> str:
    """The ``service.name`` of a container when its lines do not name one."""
    return str(container.get("compose_service") or container.get("name") or "unknown")


def _object(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        value = doc[key] = {}
    return value


class EventBuilder:
    """Builds events for one namespace; keeps nothing between records."""

    def __init__(self, namespace: str, keep_original: bool = True) -> None:
        self.namespace = namespace
        self.keep_original = keep_original

    def bulk_lines(self, record: dict[str, Any]) -> bytes:
        """The ``_bulk`` body for every line of one raw record."""
        container = record.get("container") or {}
        cid = str(container.get("id", ""))
        dataset = dataset_for(container)
        index = f"logs-{dataset}-{self.namespace}"
        common = {
            "container": {
                "id": cid,
                "name": container.get("name", ""),
                "image": {"name": container.get("image", ""), "tag": container.get("image_tag", "")},
                "labels": container.get("labels") or {},
            },
            "data_stream": {"type": "logs", "dataset": dataset, "namespace": self.namespace},
        }
        service = service_for(container)
        host = str(record.get("host", ""))
        ingested = format_ts(time.time_ns())
        out: list[bytes] = []
        for ts, ordinal, stream, text, flags in record["lines"]:
            eid = event_id(cid, ts, stream, ordinal)
            parsed = parse_line(text)
            doc: dict[str, Any] = parsed.fields
            _object(doc, "service").setdefault("name", service)
            _object(doc, "host")["name"] = host
            event = _object(doc, "event")
            event.update(id=eid, sequence=ordinal, ingested=ingested, dataset=dataset)
            if self.keep_original and doc.get("message") != text:
                event["original"] = text
            pipeline: dict[str, Any] = {"format": parsed.format}
            if flags:
                pipeline["flags"] = flags
            doc.update(common, logfleet=pipeline, stream=stream)
            doc["@timestamp"] = format_ts(ts)
            out.append(orjson.dumps({"create": {"_index": index, "_id": eid}}))
            out.append(orjson.dumps(doc))
        out.append(b"")
        return b"\n".join(out)
