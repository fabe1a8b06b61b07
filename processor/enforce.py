"""A hand-coded checker for the log format v1 (``schemas/log-format/v1.json``).

A general JSON Schema validator costs tens of microseconds a line; the processor's budget for all
its work is about fifteen. This checker tests the same rules with dict look-ups on what the parser
already found, and returns machine-readable reasons of two kinds.

**Essential** reasons (:data:`ESSENTIAL`): the line does not say when, how bad, what or who. Only
these make a line a dead letter under ``strict``; they are judged on what the parser understood,
whatever the format or dialect:

- ``too_large``: the line is over ``max_line_bytes`` (UTF-8 bytes): a dump, not a log record;
- ``missing_field:@timestamp``: the line states no time; ``timestamp_unparsable``: it states one that
  cannot be read (or ``@timestamp`` holds something that is not a time); ``timestamp_in_future``: it
  is more than ``max_future_s`` ahead of the line's Docker timestamp (not expressible in JSON Schema);
- ``missing_field:message``: a structured line with no message;
- ``missing_field:log.level``: no level; ``unknown_level``: ``log.level`` holds a word nobody knows;
- ``missing_field:service.name``: neither the line nor its container names the service (the
  container does with a ``logfleet.service`` label or as a Compose service; not in JSON Schema).

**Canonical** reasons: how far a line that says all that is from the canonical form (they are listed
under ``warn`` and ``strict`` alike, and never refuse a line):

- ``not_json``: the line is not one JSON object (then nothing else of the form is checked);
- ``alias:@timestamp``, ``alias:message``, ``alias:log.level``: the field is there under another
  name (``time``, ``msg``, ``level``, a dialect's own key);
- ``timestamp_format``: ``@timestamp`` is a time, but not RFC 3339 with ``T`` and a zone;
- ``level_format``: ``log.level`` is understood but not one of the words (``" INFO"``, ``"30"``);
- ``wrong_type:<name>``: a field of the standard holds the wrong JSON type (``<name>`` is one of
  ``@timestamp``, ``message``, ``log.level``, ``service.name``, ``trace.id``, ``span.id``,
  ``error.type``, ``error.message``, ``error.stack_trace``, or the object names ``log``, ``service``,
  ``trace``, ``span``, ``error``, ``event``, ``labels``; ``error`` may also be a string; ``labels``
  also when a label value is not a string, number or boolean).

The order is fixed (essential reasons first), so the first reason of a line is always the same and
names its dead letter. Reasons are a closed set (field names come from this module, never from the
line), so they are safe as metric labels. ``tests/processor/test_enforce_schema.py`` checks that the
checker and the schema file agree.
"""

from __future__ import annotations

import re
from typing import Any, Final

from processor.parse.model import Parsed

SCHEMA_VERSION: Final = "v1"
NS: Final = 1_000_000_000

# The level words of the standard, in any case: the six, and the other words the usual loggers write
# by default (Python's warning/critical, .NET's Information, JUL's SEVERE, syslog's notice...). Every
# one of them is understood by processor.parse.ecs.level_of; the schema lists the same words.
LEVEL_WORDS: Final = frozenset(
    {
        *("trace", "debug", "info", "warn", "error", "fatal"),
        *("warning", "information", "informational", "critical", "notice", "verbose", "config"),
        *("finest", "finer", "fine", "severe", "emerg", "emergency", "alert", "crit", "panic", "dpanic"),
        *("trc", "dbg", "inf", "wrn", "err", "eror", "ftl", "silly", "http", "success"),
    }
)

_CANONICAL_TAIL: Final = re.compile(r"(?:\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])")

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
# Keys that must hold a JSON object when present (``error`` may be a string too), in check order.
_OBJECTS: Final = ("log", "service", "trace", "span", "error", "event", "labels")
# outer object -> its members of the standard: (member, dotted name).
_MEMBERS: Final = {
    outer: tuple((member, dotted) for dotted, (o, member) in _FIELDS.items() if o == outer) for outer in _OBJECTS
}
# Every top-level key the checker looks at beyond @timestamp and message -> how: a dotted field of the
# standard (0), log.level (1), an object (2).
_KIND: Final = {**{dotted: 0 for dotted in _FIELDS}, "log.level": 1, **{name: 2 for name in _OBJECTS}}
_LABEL_TYPES: Final = (str, int, float)  # bool is an int

_MISSING: Final[Any] = object()

ESSENTIAL: Final = (
    "too_large",
    "missing_field:@timestamp",
    "timestamp_unparsable",
    "timestamp_in_future",
    "missing_field:message",
    "missing_field:log.level",
    "unknown_level",
    "missing_field:service.name",
)
_CANONICAL_ORDER: Final = (
    "not_json",
    "alias:@timestamp",
    "wrong_type:@timestamp",
    "timestamp_format",
    "alias:message",
    "wrong_type:message",
    "alias:log.level",
    *(f"wrong_type:{name}" for name in _OBJECTS),
    "wrong_type:log.level",
    "level_format",
    *(f"wrong_type:{dotted}" for dotted in list(_FIELDS)[1:]),
)
# Every reason the checker can return (for metrics and docs).
REASONS: Final = frozenset(ESSENTIAL) | frozenset(_CANONICAL_ORDER)
_RANK: Final = {reason: rank for rank, reason in enumerate(ESSENTIAL + _CANONICAL_ORDER)}


def is_essential(reasons: list[str]) -> bool:
    """True if a line with these reasons (in the checker's order) fails to say when, how bad, what or who."""
    return bool(reasons) and reasons[0] in ESSENTIAL


def canonical_timestamp(value: str) -> bool:
    """True if a ``@timestamp`` the reader understood is written as RFC 3339 with ``T`` and a zone."""
    if len(value) < 20 or value[10] != "T":
        return False
    tail = value[19:]
    if tail[0] == "." and tail[-1] == "Z" and len(tail) <= 11:  # the usual case, without the regex
        return tail[1:-1].isdigit()
    return _CANONICAL_TAIL.fullmatch(tail) is not None


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

    def check(
        self, parsed: Parsed, text: str, docker_ts_ns: int, stated_ns: int | None, container_service: bool
    ) -> list[str]:
        """The reasons why a line departs from the format (empty when it complies), in the fixed order.

        ``stated_ns`` is ``parsed.stated_time`` read by ``eventtime.stated_time_ns`` (None when the line
        states none or it cannot be read); ``docker_ts_ns`` is what the future check compares it with;
        ``container_service`` says whether the container names the service when the line does not.
        """
        reasons: list[str] = []
        if len(text) * 4 > self.max_line_bytes and self.too_large(text):
            reasons.append("too_large")
        document = parsed.document
        stated = parsed.stated_time
        if stated is None:
            written = document is not None and "@timestamp" in document  # but not as a time
            reasons.append("timestamp_unparsable" if written else "missing_field:@timestamp")
        elif stated_ns is None:
            reasons.append("timestamp_unparsable")
        elif stated_ns - docker_ts_ns > self.max_future_ns:
            reasons.append("timestamp_in_future")
        if not parsed.has_message:
            reasons.append("missing_field:message")
        fields = parsed.fields
        log = fields.get("log")
        has_level = log is not None and "level" in log
        level_written = document is not None and _writes_level(document)
        if not has_level:
            reasons.append("unknown_level" if level_written else "missing_field:log.level")
        service = fields.get("service")
        if not container_service and not (service is not None and type(service.get("name")) is str):
            reasons.append("missing_field:service.name")
        if document is None:
            reasons.append("not_json")
        else:
            _canonical(document, parsed, stated_ns is not None, has_level and not level_written, reasons)
        return reasons


def _writes_level(document: dict[str, Any]) -> bool:
    """True if the object writes ``log.level`` itself, dotted or nested (whatever its value)."""
    if "log.level" in document:
        return True
    log = document.get("log")
    return type(log) is dict and "level" in log


def _canonical(document: dict[str, Any], parsed: Parsed, readable: bool, level_alias: bool, reasons: list[str]) -> None:
    """How a JSON object departs from the canonical form, appended to ``reasons`` in the fixed order."""
    stated = parsed.stated_time
    value = document.get("@timestamp", _MISSING)
    if value is _MISSING:
        if stated is not None:
            reasons.append("alias:@timestamp")
    elif value is not stated:  # not taken as a time: another key may have given one
        reasons.append("timestamp_format" if type(value) is str else "wrong_type:@timestamp")
    elif type(value) is not str:
        reasons.append("wrong_type:@timestamp")
    elif readable and not canonical_timestamp(value):
        reasons.append("timestamp_format")
    value = document.get("message", _MISSING)
    if value is _MISSING:
        if parsed.has_message:
            reasons.append("alias:message")
    elif type(value) is not str:
        reasons.append("wrong_type:message")
    if level_alias:
        reasons.append("alias:log.level")
    found: list[str] = []
    _known_keys(document, "log" in parsed.fields, found)
    if found:
        if len(found) > 1:
            found.sort(key=_RANK.__getitem__)
        reasons += found


def _known_keys(document: dict[str, Any], has_level: bool, reasons: list[str]) -> None:
    """Check the fields and objects of the standard that the line has (in no particular order)."""
    kinds = _KIND
    for name, value in document.items():
        kind = kinds.get(name)
        if kind is None:
            continue
        if kind == 0:  # a dotted field
            if type(value) is not str:
                _once(f"wrong_type:{name}", reasons)
        elif kind == 1:
            if type(value) is not str or value.lower() not in LEVEL_WORDS:
                _level(value, has_level, reasons)
        elif type(value) is not dict:
            if not (name == "error" and type(value) is str):  # "error": "text" is error.message
                reasons.append(f"wrong_type:{name}")
        else:
            for member, dotted in _MEMBERS[name]:
                member_value = value.get(member, _MISSING)
                if member_value is _MISSING:
                    continue
                if dotted == "log.level":
                    if type(member_value) is not str or member_value.lower() not in LEVEL_WORDS:
                        _level(member_value, has_level, reasons)
                elif type(member_value) is not str:
                    _once(f"wrong_type:{dotted}", reasons)
            if name == "labels":
                for label in value.values():
                    if not isinstance(label, _LABEL_TYPES):
                        reasons.append("wrong_type:labels")
                        break


def _level(value: Any, has_level: bool, reasons: list[str]) -> None:
    """A written ``log.level`` that is not one of the words: understood all the same (a number, padding),
    or not (then ``unknown_level`` is already among the essential reasons)."""
    if has_level:
        _once("level_format" if type(value) is str else "wrong_type:log.level", reasons)


def _once(reason: str, reasons: list[str]) -> None:
    if reason not in reasons:
        reasons.append(reason)
