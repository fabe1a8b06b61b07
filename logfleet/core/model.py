"""The record model shared by every part: raw records on ``logs.raw``, event ids and timestamps.

A raw record is one Kafka record holding many lines of one container (the per-record cost in
Python, not the broker, sets the pipeline's speed, so lines travel in batches). Its value is JSON::

    {"v": 1, "host": "...", "container": {...metadata...},
     "lines": [[ts_ns, ordinal, stream, text, flags], ...]}

``ts_ns`` is Docker's timestamp in nanoseconds since the epoch, ``ordinal`` numbers lines that share
that timestamp, ``stream`` is ``stdout`` or ``stderr`` and ``flags`` lists what happened to the line on
the way (``truncated``, ``invalid_utf8``). (container id, ts_ns, stream, ordinal) names a line for
ever: :func:`event_id` hashes it into the Elasticsearch ``_id``, so a replay is a harmless duplicate.
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import time
from datetime import datetime
from typing import Any

import orjson

RAW_VERSION = 1
NS = 1_000_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class ContainerMeta:
    """What the shipper knows of a container, looked up once when it starts following it."""

    id: str
    name: str
    image: str
    image_tag: str = ""
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    compose_project: str = ""
    compose_service: str = ""
    tty: bool = False

    def as_json(self) -> dict[str, Any]:
        """The metadata as carried in a raw record."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContainerMeta:
        """Rebuild metadata from a raw record, ignoring keys this version does not know."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def encode_raw(host: str, meta_json: dict[str, Any], lines: list[list[Any]]) -> bytes:
    """Serialize one raw record (see the module docstring for the layout)."""
    return orjson.dumps({"v": RAW_VERSION, "host": host, "container": meta_json, "lines": lines})


def decode_raw(value: bytes) -> dict[str, Any]:
    """Parse one raw record; raises ValueError when it is not one."""
    record = orjson.loads(value)
    if not isinstance(record, dict) or not isinstance(record.get("lines"), list):
        raise ValueError("not a logfleet raw record")
    return record


def event_id(container_id: str, ts_ns: int, stream: str, ordinal: int) -> str:
    """The deterministic id of one log line: Kafka tie-breaker and Elasticsearch ``_id``."""
    key = f"{container_id}|{ts_ns}|{stream}|{ordinal}".encode()
    return hashlib.blake2b(key, digest_size=16).hexdigest()


# Whole seconds already parsed: b"YYYY-MM-DDTHH:MM:SS" -> that second in nanoseconds (bounded: cleared
# past 4,096). Shared with the shipper's frame decoder, whose hot loop reads it inline.
SECOND_NS: dict[bytes, int] = {}


def parse_docker_ts(raw: bytes) -> int:
    """Docker's RFC 3339 timestamp (``2024-01-02T03:04:05.123456789Z``) as nanoseconds since the epoch.

    Docker writes a fixed nine-digit fraction in UTC; the whole-second part is cached because
    consecutive lines share it. Other offsets and fraction widths fall back to a slower path.
    Raises ValueError on anything that is not a timestamp.
    """
    if len(raw) == 30 and raw[19:20] == b"." and raw[29:30] == b"Z":
        head = raw[:19]
        second_ns = SECOND_NS.get(head)
        if second_ns is None:
            second_ns = calendar.timegm(time.strptime(head.decode(), "%Y-%m-%dT%H:%M:%S")) * NS
            if len(SECOND_NS) > 4096:
                SECOND_NS.clear()
            SECOND_NS[head] = second_ns
        return second_ns + int(raw[20:29])
    text = raw.decode()
    main, _, frac_zone = text.partition(".")
    digits = ""
    zone = frac_zone
    while zone and zone[0].isdigit():
        digits, zone = digits + zone[0], zone[1:]
    parsed = datetime.fromisoformat(main + (zone if zone not in ("", "Z") else "+00:00"))
    return int(parsed.timestamp()) * NS + int((digits or "0")[:9].ljust(9, "0"))


_formatted_seconds: dict[int, str] = {}


def format_ts(ts_ns: int) -> str:
    """Nanoseconds since the epoch as RFC 3339 UTC with nine fraction digits."""
    seconds, nanos = divmod(ts_ns, NS)
    head = _formatted_seconds.get(seconds)
    if head is None:  # consecutive lines share their second: format it once
        if len(_formatted_seconds) > 4096:
            _formatted_seconds.clear()
        head = _formatted_seconds[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{head}.{nanos:09d}Z"


def docker_since(ts_ns: int) -> str:
    """A Docker ``since`` query value with nanosecond precision (``seconds.nanoseconds``)."""
    seconds, nanos = divmod(ts_ns, NS)
    return f"{seconds}.{nanos:09d}"
