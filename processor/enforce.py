"""A hand-coded checker for the prescribed log format v1 (``schemas/log-format/v1.json``).

A general JSON Schema validator costs tens of microseconds a line; the processor's budget for all
its work is about ten. This checker tests the same rules with dict look-ups and one regex, on the
object the JSON parser already decoded, and returns machine-readable reasons:

- ``too_large``: the line is over ``max_line_bytes`` (UTF-8 bytes);
- ``not_json``: the line is not one JSON object (then nothing else is checked);
- ``missing_field:<name>``: ``@timestamp``, ``log.level``, ``message`` or ``service.name`` is absent;
- ``wrong_type:<name>``: a field of the standard holds the wrong JSON type (``<name>`` is one of
  ``@timestamp``, ``message``, ``log.level``, ``service.name``, ``trace.id``, ``span.id``, ``error.type``,
  ``error.message``, ``error.stack_trace``, or the object names ``log``, ``service``, ``trace``,
  ``span``, ``error``, ``event``, ``labels``; ``labels`` also when a label value is not a string,
  number or boolean);
- ``unknown_level``: ``log.level`` is a string outside the closed set;
- ``timestamp_unparsable``: ``@timestamp`` is not RFC 3339 with a fraction of a second, or names a day
  that does not exist;
- ``timestamp_in_future``: ``@timestamp`` is more than ``max_future_s`` ahead of the line's Docker
  timestamp (not expressible in JSON Schema).

The order is fixed (size, JSON, ``@timestamp``, ``message``, the objects, the fields in the order
above, label values), so the first reason of a line is always the same.

Reasons are a closed set (field names come from this module, never from the line), so they are safe
as metric labels. ``tests/processor/test_enforce_schema.py`` checks that the checker and the schema
file agree.
"""

from __future__ import annotations

import calendar
import re
import time
from typing import Any, Final

SCHEMA_VERSION: Final = "v1"
NS: Final = 1_000_000_000

LEVELS: Final = frozenset(
    ["trace", "debug", "info", "warn", "error", "fatal", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
)

# The same pattern as the schema's, without the anchors (fullmatch anchors it).
_TIMESTAMP: Final = re.compile(
    r"([0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])"
    r"\.([0-9]{1,9})(Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)

# Fields that may be written dotted ("log.level") or nested ({"log": {"level": ...}}), in check order:
# dotted name -> (outer object, member).
_FIELDS: Final = {
    "log.level": ("log", "level"),
    "service.name": ("service", "name"),
    "trace.id": ("trace", "id"),
    "span.id": ("span", "id"),
    "error.type": ("error", "type"),
    "error.message": ("error", "message"),
    "error.stack_trace": ("error", "stack_trace"),
}
_REQUIRED: Final = ("log.level", "service.name")
# Keys that must hold a JSON object when present, in check order.
_OBJECTS: Final = ("log", "service", "trace", "span", "error", "event", "labels")
# outer object -> its members of the standard: (member, dotted name).
_MEMBERS: Final = {
    outer: tuple((member, dotted) for dotted, (o, member) in _FIELDS.items() if o == outer) for outer in _OBJECTS
}
# Every top-level key the checker looks at beyond @timestamp and message.
_KNOWN: Final = frozenset(_FIELDS) | frozenset(_OBJECTS)
_LABEL_TYPES: Final = (str, int, float)  # bool is an int

_MISSING: Final[Any] = object()

# Every reason the checker can return (for metrics and docs).
REASONS: Final = frozenset(
    ["too_large", "not_json", "unknown_level", "timestamp_unparsable", "timestamp_in_future"]
    + [f"missing_field:{name}" for name in ("@timestamp", "message", *_REQUIRED)]
    + [f"wrong_type:{name}" for name in ("@timestamp", "message", *_FIELDS, *_OBJECTS)]
)

_second_cache: dict[str, int | None] = {}
_SCALE: Final[tuple[int, ...]] = tuple(10 ** (9 - digits) for digits in range(10))


def _epoch_seconds(head: str) -> int | None:
    """``YYYY-MM-DDTHH:MM:SS`` (already shaped by the regex) as UTC epoch seconds, None if no such day."""
    cached = _second_cache.get(head, _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[no-any-return]
    try:
        seconds: int | None = calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        seconds = None
    if len(_second_cache) > 4096:
        _second_cache.clear()
    _second_cache[head] = seconds
    return seconds


def timestamp_ns(value: str) -> int | None:
    """An RFC 3339 timestamp of the standard as nanoseconds since the epoch, or None if it is not one."""
    seconds = _second_cache.get(value[:19])
    if seconds is not None and value[19:20] == "." and value[-1:] == "Z":  # a known second: skip the regex
        fraction = value[20:-1]
        if len(fraction) <= 9 and fraction.isdigit() and fraction.isascii():  # "".isdigit() is False
            return seconds * NS + int(fraction) * _SCALE[len(fraction)]
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    head, fraction, zone = match.groups()
    seconds = _epoch_seconds(head)
    if seconds is None:
        return None
    if zone != "Z":
        offset = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
        seconds += -offset if zone[0] == "+" else offset
    return seconds * NS + int(fraction.ljust(9, "0"))


class FormatChecker:
    """Checks lines against format v1; ``check`` never raises."""

    def __init__(self, max_line_bytes: int = 64 * 1024, max_future_s: float = 300.0) -> None:
        self.max_line_bytes = max_line_bytes
        self.max_future_ns = int(max_future_s * NS)

    def too_large(self, text: str) -> bool:
        """True if ``text`` is over the size limit in UTF-8 bytes (encoded only when it could be)."""
        limit = self.max_line_bytes
        if len(text) * 4 <= limit:
            return False
        if len(text) > limit:
            return True
        return len(text.encode("utf-8", "surrogatepass")) > limit

    def check(self, document: dict[str, Any] | None, text: str, docker_ts_ns: int) -> list[str]:
        """The reasons why a line breaks the format (empty when it complies).

        ``document`` is the decoded JSON object of the line, or None when the line is not a JSON
        object; ``docker_ts_ns`` is the Docker timestamp the future check compares with.
        """
        reasons: list[str] = []
        if len(text) * 4 > self.max_line_bytes and self.too_large(text):
            reasons.append("too_large")
        if document is None:
            reasons.append("not_json")
            return reasons
        value = document.get("@timestamp", _MISSING)
        if value is _MISSING:
            reasons.append("missing_field:@timestamp")
        elif type(value) is not str:
            reasons.append("wrong_type:@timestamp")
        else:
            stamp = timestamp_ns(value)
            if stamp is None:
                reasons.append("timestamp_unparsable")
            elif stamp - docker_ts_ns > self.max_future_ns:
                reasons.append("timestamp_in_future")
        value = document.get("message", _MISSING)
        if value is _MISSING:
            reasons.append("missing_field:message")
        elif type(value) is not str:
            reasons.append("wrong_type:message")
        present = document.keys() & _KNOWN
        if present:
            self._known_keys(document, present, reasons)
        else:
            reasons += ("missing_field:log.level", "missing_field:service.name")
        if len(reasons) > 1:
            reasons.sort(key=_RANK.__getitem__)  # the fixed order: the first reason names a dead letter
        return reasons

    @staticmethod
    def _known_keys(document: dict[str, Any], present: set[str], reasons: list[str]) -> None:
        """Check the fields and objects of the standard that the line has, and that the required ones are there."""
        found: set[str] = set()
        for name in present:
            value = document[name]
            members = _MEMBERS.get(name)
            if members is None:  # a dotted field
                found.add(name)
                if type(value) is not str or (name == "log.level" and value not in LEVELS):
                    _bad_value(value, name, reasons)
            elif type(value) is not dict:
                reasons.append(f"wrong_type:{name}")
            else:
                for member, dotted in members:
                    member_value = value.get(member, _MISSING)
                    if member_value is not _MISSING:
                        found.add(dotted)
                        if type(member_value) is not str or (dotted == "log.level" and member_value not in LEVELS):
                            _bad_value(member_value, dotted, reasons)
                if name == "labels":
                    for label in value.values():
                        if not isinstance(label, _LABEL_TYPES):
                            reasons.append("wrong_type:labels")
                            break
        for dotted in _REQUIRED:
            if dotted not in found:
                reasons.append(f"missing_field:{dotted}")


def _bad_value(value: Any, name: str, reasons: list[str]) -> None:
    """Record why a value of a field of the standard is wrong (it must be a string; for log.level one of LEVELS)."""
    reason = f"wrong_type:{name}" if type(value) is not str else "unknown_level"
    if reason not in reasons:
        reasons.append(reason)


_ORDER: Final = [
    "too_large",
    "not_json",
    "missing_field:@timestamp",
    "wrong_type:@timestamp",
    "timestamp_unparsable",
    "timestamp_in_future",
    "missing_field:message",
    "wrong_type:message",
    *(f"wrong_type:{name}" for name in _OBJECTS),
    "missing_field:log.level",
    "wrong_type:log.level",
    "unknown_level",
    *(f"{kind}:{dotted}" for dotted in list(_FIELDS)[1:] for kind in ("missing_field", "wrong_type")),
]
_RANK: Final = {reason: rank for rank, reason in enumerate(_ORDER)}
