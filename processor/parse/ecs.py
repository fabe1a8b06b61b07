"""Map the keys of a structured line (a JSON object or logfmt pairs) onto ECS fields.

Common spellings are recognised, both dotted (``"log.level"``) and nested (``{"log": {"level": ..}}``):

========================  =====================================================================
ECS field                 keys, best first
========================  =====================================================================
``message``               message, msg
``log.level``             log.level, level, lvl, severity, levelname (normalised, see levels.py)
``app_timestamp``         @timestamp, timestamp, time, ts (kept as a string, not interpreted)
``log.logger``            log.logger, logger, logger_name
``service.name``          service.name, service (a string)
``trace.id``              trace.id, trace_id, traceId
``span.id``               span.id, span_id, spanId
``error.*``               error.message (or error as a string), error.type, error.stack_trace,
                          error.code, error.id
``labels``                labels (a flat object), labels.<name>
========================  =====================================================================

When two keys name the same field the better one in the table wins; a dotted key and its nested
spelling are equally good, and of those the first in the line wins. Every key that is not used,
including the losers and values of the wrong type (a level word outside the closed set, an object
where a string belongs), goes under ``fields["app"]`` unchanged, at the same place it had in the
line. Numbers are accepted where a string belongs and turned into strings (``"ts": 1709294400``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import orjson

from processor.parse.levels import normalise_level

_Convert = Callable[[Any], Any]


def _as_message(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except (TypeError, ValueError):  # pragma: no cover - decoded values always serialise
        return str(value)


def _as_keyword(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


# ECS field -> converter (None from a converter means "wrong type, keep it under app").
_CONVERT: Final[dict[str, _Convert]] = {
    "message": _as_message,
    "log.level": normalise_level,
    "app_timestamp": _as_keyword,
    "log.logger": _as_keyword,
    "service.name": _as_keyword,
    "trace.id": _as_keyword,
    "span.id": _as_keyword,
    "error.message": _as_keyword,
    "error.type": _as_keyword,
    "error.stack_trace": _as_keyword,
    "error.code": _as_keyword,
    "error.id": _as_keyword,
}

# Key as written (nested keys joined with a dot) -> (ECS field, rank; lower wins).
ALIASES: Final[dict[str, tuple[str, int]]] = {
    "message": ("message", 0),
    "msg": ("message", 1),
    "log.level": ("log.level", 0),
    "level": ("log.level", 1),
    "lvl": ("log.level", 2),
    "severity": ("log.level", 3),
    "levelname": ("log.level", 4),
    "@timestamp": ("app_timestamp", 0),
    "timestamp": ("app_timestamp", 1),
    "time": ("app_timestamp", 2),
    "ts": ("app_timestamp", 3),
    "log.logger": ("log.logger", 0),
    "logger": ("log.logger", 1),
    "logger_name": ("log.logger", 2),
    "service.name": ("service.name", 0),
    "service": ("service.name", 1),
    "trace.id": ("trace.id", 0),
    "trace_id": ("trace.id", 1),
    "traceId": ("trace.id", 2),
    "span.id": ("span.id", 0),
    "span_id": ("span.id", 1),
    "spanId": ("span.id", 2),
    "error.message": ("error.message", 0),
    "error": ("error.message", 1),
    "error.type": ("error.type", 0),
    "error.stack_trace": ("error.stack_trace", 0),
    "error.code": ("error.code", 0),
    "error.id": ("error.id", 0),
}

# Objects whose members are looked up as "<key>.<member>".
_CONTAINERS: Final = frozenset({"log", "service", "trace", "span", "error"})

# A chosen value: (rank, container key or None, key, original value, converted value).
_Pick = tuple[int, str | None, str, Any, Any]


def _keep(app: dict[str, Any], container: str | None, key: str, value: Any) -> None:
    """Put an unused value under ``app`` where it was in the line."""
    if container is None:
        app[key] = value
    else:
        app.setdefault(container, {})[key] = value


def _offer(
    picks: dict[str, _Pick],
    app: dict[str, Any],
    alias: tuple[str, int],
    container: str | None,
    key: str,
    value: Any,
) -> None:
    """Use ``value`` for an ECS field if it converts and beats what the field holds so far."""
    target, rank = alias
    converted = _CONVERT[target](value)
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
    if isinstance(value, bool):
        return "true" if value else "false"
    return _as_keyword(value)


def _take_labels(labels: dict[str, str], app: dict[str, Any], source: dict[str, Any]) -> None:
    for name, value in source.items():
        text = _label_value(value)
        if text is None:
            _keep(app, "labels", name, value)
        else:
            labels[name] = text


def map_object(obj: dict[str, Any], raw: str) -> dict[str, Any]:
    """Build ECS ``fields`` from a decoded object; ``raw`` is the message when the object has none.

    The result is always a new dict (values may be shared with ``obj``) holding a str ``message``.
    ``fields["app"]`` is present only when some key was left over.
    """
    picks: dict[str, _Pick] = {}
    app: dict[str, Any] = {}
    labels: dict[str, str] = {}
    aliases = ALIASES
    for key, value in obj.items():
        if type(value) is dict and key in _CONTAINERS:
            for member, member_value in value.items():
                alias = aliases.get(key + "." + member)
                if alias is None:
                    _keep(app, key, member, member_value)
                else:
                    _offer(picks, app, alias, key, member, member_value)
            continue
        alias = aliases.get(key)
        if alias is None:
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
        elif alias[0] not in picks:  # the usual case: first key for this field, no ranking needed
            converted = _CONVERT[alias[0]](value)
            if converted is None:
                app[key] = value
            else:
                picks[alias[0]] = (alias[1], None, key, value, converted)
        else:
            _offer(picks, app, alias, None, key, value)
    return _assemble(picks, app, labels, raw)


# ECS field -> (outer object, member) in the nested result; None for top-level keys.
_PLACE: Final[dict[str, tuple[str, str] | None]] = {
    target: None if "." not in target else (target.split(".", 1)[0], target.split(".", 1)[1]) for target in _CONVERT
}


def _assemble(picks: dict[str, _Pick], app: dict[str, Any], labels: dict[str, str], raw: str) -> dict[str, Any]:
    """Turn the chosen values into the nested ECS dict."""
    message = picks.pop("message", None)
    fields: dict[str, Any] = {"message": raw if message is None else message[4]}
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
