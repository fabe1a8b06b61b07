"""Map the keys of a structured line (a JSON object or logfmt pairs) onto ECS fields.

Common spellings are recognised, both dotted (``"log.level"``) and nested (``{"log": {"level": ..}}``):

=====================  ====================================================================================
ECS field              keys, best first
=====================  ====================================================================================
``message``            message, msg
``log.level``          log.level, level, lvl, severity, levelname (normalised, see :func:`level_of`)
the stated time        @timestamp, timestamp, time, ts, asctime (not a field: ``Parsed.stated_time``, which
                       the processor turns into ``@timestamp``, see eventtime.py)
``log.logger``         log.logger, logger, logger_name
``service.name``       service.name, service (a string)
``trace.id``           trace.id, trace_id, traceId
``span.id``            span.id, span_id, spanId
``error.message``      error.message, error (a string), err.message, err (a string)
``error.type``         error.type, err.name, err.type
``error.stack_trace``  error.stack_trace, err.stack, stack_trace, stacktrace, exc_info, exception, stack
                       (a string, or a list of lines or of Java stack frames)
``error.code``, ``.id``  error.code, error.id
``labels``             labels (a flat object), labels.<name>
=====================  ====================================================================================

The loggers that name things otherwise (structlog's ``event``, Serilog's ``@mt``, MongoDB's ``s``...)
get a table of their own (a :class:`KeyMap`, see ``dialects.py``) built on this one.

When two keys name the same field the better one in the table wins; a dotted key and its nested
spelling are equally good, and of those the first in the line wins. Every key that is not used,
including the losers and values of the wrong type (a level word nobody knows, an object where a
string belongs), goes under ``fields["app"]`` unchanged, at the same place it had in the line.
Numbers are accepted where a string belongs and turned into strings (``"trace_id": 42``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final

import orjson

from processor.parse.levels import normalise_level

Convert = Callable[[Any], Any]
# Key as written (nested keys joined with a dot) -> (target, rank: lower wins, converter, whether the
# converter takes a non-empty string as it is). A converter returns None for a value of the wrong type, which
# then stays under app.
Alias = tuple[str, int, Convert, bool]
# A dialect's hook, run on the decoded object and the finished fields.
Finish = Callable[[dict[str, Any], dict[str, Any]], None]

STATED_TIME: Final = "stated_time"  # the target of time keys: not a field, see Parsed.stated_time

# Level words some loggers write that levels.py does not know (npm levels of winston, loguru's SUCCESS).
_EXTRA_LEVELS: Final = {"silly": "trace", "http": "info", "success": "info"}
_levels_seen: dict[str, str | None] = {}  # spelling as written -> level (or None), a bounded memo
_UNSEEN: Final[Any] = object()


def _as_message(value: Any) -> str:
    if type(value) is str:
        return value
    try:
        return orjson.dumps(value).decode()
    except (TypeError, ValueError):  # pragma: no cover - decoded values always serialise
        return str(value)


def as_keyword(value: Any) -> str | None:
    """A string as it is, a number as its text, anything else None (the converter of keyword fields).

    Decoded JSON holds exact types, so ``type() is`` tests suffice (and cost a fraction of
    ``isinstance`` with a union; a bool is not an int here).
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int or kind is float:
        return str(value)
    return None


def level_of(value: Any) -> str | None:
    """A level word (any case) or pino/bunyan number on the closed set of six, or None."""
    if type(value) is str:
        known = _levels_seen.get(value, _UNSEEN)  # a service writes the same few spellings all day
        if known is not _UNSEEN:
            return known  # type: ignore[no-any-return]
    level = normalise_level(value)
    if level is None and isinstance(value, str):
        level = _EXTRA_LEVELS.get(value.strip().lower())
    if type(value) is str and len(_levels_seen) < 4096:
        _levels_seen[value] = level
    return level


def as_time(value: Any) -> str | int | float | None:
    """A stated time as written: non-empty text or a number (read later by eventtime.py)."""
    kind = type(value)
    if kind is str:
        return value or None
    if kind is int or kind is float:
        return value  # type: ignore[no-any-return]
    return None


def _frame(frame: Any) -> str | None:
    """One element of a stack trace written as a list: a line of text, or a Java stack frame object."""
    if isinstance(frame, str):
        return frame
    if isinstance(frame, dict) and isinstance(frame.get("method"), str):
        where = f"{frame.get('file', 'Unknown Source')}:{frame['line']}" if "line" in frame else "Unknown Source"
        return f"\tat {frame.get('class', '?')}.{frame['method']}({where})"
    return None


def as_stack(value: Any) -> str | None:
    """A stack trace: a string, or a list of lines or of frame objects (log4j2 JSONLayout) joined by newlines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        lines = [_frame(frame) for frame in value]
        if all(line is not None for line in lines):
            return "\n".join(lines)  # type: ignore[arg-type]
    return None


# ECS field -> (outer object, member) in the nested result; None for top-level keys.
_PLACE: Final[dict[str, tuple[str, str] | None]] = {
    target: None if "." not in target else (target.split(".", 1)[0], target.split(".", 1)[1])
    for target in (
        "message",
        "log.level",
        "log.logger",
        "service.name",
        "trace.id",
        "span.id",
        "error.message",
        "error.type",
        "error.stack_trace",
        "error.code",
        "error.id",
    )
}

_DEFAULT_CONVERT: Final[dict[str, Convert]] = {
    "message": _as_message,
    "log.level": level_of,
    STATED_TIME: as_time,
    "error.stack_trace": as_stack,
}


def alias(target: str, rank: int, convert: Convert | None = None) -> Alias:
    """A key table entry: the key names ``target`` with this ``rank`` (its usual converter if none given)."""
    chosen = convert or _DEFAULT_CONVERT.get(target, as_keyword)
    return (target, rank, chosen, chosen is as_keyword or chosen is _as_message or chosen is as_time)


ALIASES: Final[dict[str, Alias]] = {
    "message": alias("message", 0),
    "msg": alias("message", 1),
    "log.level": alias("log.level", 0),
    "level": alias("log.level", 1),
    "lvl": alias("log.level", 2),
    "severity": alias("log.level", 3),
    "levelname": alias("log.level", 4),
    "@timestamp": alias(STATED_TIME, 0),
    "timestamp": alias(STATED_TIME, 1),
    "time": alias(STATED_TIME, 2),
    "ts": alias(STATED_TIME, 3),
    "asctime": alias(STATED_TIME, 4),
    "log.logger": alias("log.logger", 0),
    "logger": alias("log.logger", 1),
    "logger_name": alias("log.logger", 2),
    "service.name": alias("service.name", 0),
    "service": alias("service.name", 1),
    "trace.id": alias("trace.id", 0),
    "trace_id": alias("trace.id", 1),
    "traceId": alias("trace.id", 2),
    "span.id": alias("span.id", 0),
    "span_id": alias("span.id", 1),
    "spanId": alias("span.id", 2),
    "error.message": alias("error.message", 0),
    "error": alias("error.message", 1),
    "err.message": alias("error.message", 2),
    "err": alias("error.message", 3),
    "error.type": alias("error.type", 0),
    "err.name": alias("error.type", 1),
    "err.type": alias("error.type", 2),
    "error.stack_trace": alias("error.stack_trace", 0),
    "err.stack": alias("error.stack_trace", 1),
    "stack_trace": alias("error.stack_trace", 2),
    "stacktrace": alias("error.stack_trace", 3),
    "exc_info": alias("error.stack_trace", 4),
    "exception": alias("error.stack_trace", 5),
    "stack": alias("error.stack_trace", 6),
    "error.code": alias("error.code", 0),
    "error.id": alias("error.id", 0),
}

# Objects whose members are looked up as "<key>.<member>".
CONTAINERS: Final = frozenset({"log", "service", "trace", "span", "error", "err"})


@dataclasses.dataclass(frozen=True, slots=True)
class KeyMap:
    """How one logger (a dialect) names things: its key table, the objects whose members are looked
    up, and a hook that finishes the fields (a default level, a rendered message template)."""

    name: str | None
    aliases: dict[str, Alias]
    containers: frozenset[str] = CONTAINERS
    finish: Finish | None = None


GENERIC: Final = KeyMap(None, ALIASES)

# A chosen value: (rank, container key or None, key, original value, converted value).
_Pick = tuple[int, str | None, str, Any, Any]


def _keep(app: dict[str, Any], container: str | None, key: str, value: Any) -> None:
    """Put an unused value under ``app`` where it was in the line."""
    if container is None:
        app[key] = value
    else:
        app.setdefault(container, {})[key] = value


def _offer(
    picks: dict[str, _Pick], app: dict[str, Any], entry: Alias, container: str | None, key: str, value: Any
) -> None:
    """Use ``value`` for an ECS field if it converts and beats what the field holds so far."""
    target, rank, convert, _ = entry
    converted = convert(value)
    if converted is None:
        _keep(app, container, key, value)
        return
    held = picks.get(target)
    if held is not None:
        if held[0] <= rank:
            _keep(app, container, key, value)
            return
        _keep(app, held[1], held[2], held[3])
    picks[target] = (rank, container, key, value, converted)


def _label_value(value: Any) -> str | None:
    if type(value) is bool:
        return "true" if value else "false"
    return as_keyword(value)


def _take_labels(labels: dict[str, str], app: dict[str, Any], source: dict[str, Any]) -> None:
    for name, value in source.items():
        if type(value) is str:  # the usual case, without a call
            labels[name] = value
            continue
        text = _label_value(value)
        if text is None:
            _keep(app, "labels", name, value)
        else:
            labels[name] = text


def map_object(
    obj: dict[str, Any], raw: str, keys: KeyMap = GENERIC
) -> tuple[dict[str, Any], str | int | float | None, bool]:
    """ECS ``fields``, the stated time and whether there was a message, from a decoded object.

    ``raw`` is the message when the object has none. ``fields`` is always a new dict (values may be
    shared with ``obj``) holding a str ``message``; ``fields["app"]`` is present only when some key
    was left over. ``keys`` is the table of the object's dialect (see ``dialects.py``).
    """
    picks: dict[str, _Pick] = {}
    app: dict[str, Any] = {}
    labels: dict[str, str] = {}
    aliases = keys.aliases
    containers = keys.containers
    for key, value in obj.items():
        if type(value) is dict and key in containers:
            for member, member_value in value.items():
                entry = aliases.get(key + "." + member)
                if entry is None:
                    _keep(app, key, member, member_value)
                else:
                    _offer(picks, app, entry, key, member, member_value)
            continue
        entry = aliases.get(key)
        if entry is None:
            if key == "labels" and type(value) is dict:
                _take_labels(labels, app, value)
            elif key.startswith("labels.") and len(key) > 7:
                text = _label_value(value)
                if text is None:
                    app[key] = value
                else:
                    labels[key[7:]] = text
            else:
                app[key] = value
        elif entry[0] not in picks:  # the usual case: first key for this field, no ranking needed
            converted = value if entry[3] and type(value) is str and value else entry[2](value)
            if converted is None:
                app[key] = value
            else:
                picks[entry[0]] = (entry[1], None, key, value, converted)
        else:
            _offer(picks, app, entry, None, key, value)
    stated = picks.pop(STATED_TIME, None)
    message = picks.pop("message", None)
    fields = _assemble(picks, app, labels, raw if message is None else message[4])
    if keys.finish is not None:
        keys.finish(obj, fields)
    return fields, None if stated is None else stated[4], message is not None


def _assemble(picks: dict[str, _Pick], app: dict[str, Any], labels: dict[str, str], message: str) -> dict[str, Any]:
    """Turn the chosen values into the nested ECS dict."""
    fields: dict[str, Any] = {"message": message}
    for target, pick in picks.items():
        place = _PLACE[target]
        if place is None:
            fields[target] = pick[4]
            continue
        group = fields.get(place[0])
        if group is None:
            fields[place[0]] = {place[1]: pick[4]}
        else:
            group[place[1]] = pick[4]
    if labels:
        fields["labels"] = labels
    if app:
        fields["app"] = app
    return fields
