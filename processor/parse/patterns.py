"""Named patterns: a team's own line format, as a regular expression whose named groups are ECS fields.

Patterns are defined in the configuration (``parse_patterns``, see ``logfleet/core/config.py``) and chosen
by a container with the label ``logfleet.parser=<name>``. Group names map to fields:

==========================  ======================================================================
group                       field
==========================  ======================================================================
``message``                 ``message`` (required)
``level``                   ``log.level``, normalised (``WARNING`` -> ``warn``); a word that names no
                            level is kept under ``app.level``
``timestamp`` or ``time``   the line's time as written (``Parsed.stated_time``), never a field
``logger``                  ``log.logger``
``thread``                  ``process.thread.name``
``pid``                     ``process.pid``
``a__b__c``                 the ECS field ``a.b.c`` (a group name cannot hold a dot, so ``__`` stands
                            for it): ``http__response__status_code``, ``client__ip``, ``trace__id``
``labels__name``            ``labels.name``, any name
==========================  ======================================================================

The ECS fields a group may name are listed in ``FIELDS``; numbers (``process.pid``,
``http.response.status_code``) are converted, IPs are checked, and a value that does not fit goes under
``app.<group>`` instead of breaking the event. A group that matched nothing is left out. The expression
is searched in the line (anchor it with ``^``/``$`` as needed); a line it does not match is plain text.
:func:`compile_patterns` checks everything at start and raises :class:`~logfleet.core.errors.ConfigError`
naming the pattern and the fault: a bad regex, a group naming no known field, no ``message`` group, a
name that is a built-in parser's.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import orjson

from logfleet.core.errors import ConfigError
from processor.parse.access import is_ip
from processor.parse.common import as_int, put
from processor.parse.levels import normalise_level
from processor.parse.model import Parsed

NAME: Final = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")

_KEYWORD: Final = "keyword"
_LONG: Final = "long"
_IP: Final = "ip"
# The ECS fields a named pattern may fill, with the kind of value each takes.
FIELDS: Final[dict[str, str]] = {
    name: kind
    for kind, names in (
        (
            _KEYWORD,
            "log.logger log.origin.file.name log.origin.function service.name service.version "
            "service.environment host.hostname process.name process.thread.name trace.id span.id "
            "transaction.id error.type error.message error.code error.stack_trace event.code event.action "
            "event.outcome event.reason user.name user.id user.email http.request.method http.request.id "
            "http.request.referrer http.version url.original url.path url.query url.domain url.scheme "
            "user_agent.original client.address server.address server.domain source.address "
            "destination.address destination.domain",
        ),
        (
            _LONG,
            "process.pid process.thread.id log.origin.file.line http.response.status_code "
            "http.response.body.bytes http.request.body.bytes event.duration client.port server.port "
            "source.port destination.port url.port",
        ),
        (_IP, "client.ip server.ip source.ip destination.ip host.ip"),
    )
    for name in names.split()
}
# Short group names for the common fields.
SHORT: Final[dict[str, str]] = {
    "level": "log.level",
    "logger": "log.logger",
    "thread": "process.thread.name",
    "pid": "process.pid",
}
TIME_GROUPS: Final = frozenset({"timestamp", "time"})


@dataclasses.dataclass(frozen=True, slots=True)
class NamedPattern:
    """One compiled pattern: its name, its expression and, per group, the field it fills."""

    name: str
    regex: re.Pattern[str]
    groups: tuple[tuple[str, str], ...]  # (group, field); field "" for the time

    def parse(self, text: str) -> Parsed | None:
        """The line as this pattern reads it (format: the pattern's name), or ``None`` if it does not match."""
        match = self.regex.search(text)
        if match is None:
            return None
        fields: dict[str, Any] = {"message": match.group("message") or ""}
        stated_time = None
        app: dict[str, str] = {}
        for group, field in self.groups:
            value = match.group(group)
            if value is None or value == "":
                continue
            if not field:
                stated_time = value
            elif field == "log.level":
                level = normalise_level(value)
                if level is None:
                    app[group] = value
                else:
                    put(fields, field, level)
            else:
                converted = _convert(FIELDS.get(field, _KEYWORD), value)
                if converted is None:
                    app[group] = value
                else:
                    put(fields, field, converted)
        if app:
            fields["app"] = app
        return Parsed(self.name, fields, stated_time=stated_time)


def _convert(kind: str, value: str) -> str | int | None:
    if kind == _LONG:
        return as_int(value)
    if kind == _IP:
        return value if is_ip(value) else None
    return value


def field_of(group: str) -> str | None:
    """The field a group name fills (``""`` for the time), or ``None`` if it names none."""
    if group == "message":
        return "message"
    if group in TIME_GROUPS:
        return ""
    short = SHORT.get(group)
    if short is not None:
        return short
    dotted = group.replace("__", ".")
    if dotted.startswith("labels.") and len(dotted) > 7 and "." not in dotted[7:]:
        return dotted
    return dotted if dotted in FIELDS or dotted == "log.level" else None


def _compile_one(name: str, expression: Any, reserved: Iterable[str]) -> NamedPattern:
    where = f"parse_patterns: pattern {name!r}"
    if NAME.fullmatch(name) is None:
        raise ConfigError(f"{where}: a name is lower-case letters, digits, '_', '.', '-' (up to 64)")
    if name in reserved:
        raise ConfigError(f"{where}: the name is a built-in parser's; choose another")
    if not isinstance(expression, str):
        raise ConfigError(f"{where}: the value must be a regular expression (a string)")
    try:
        regex = re.compile(expression)
    except re.error as exc:
        raise ConfigError(f"{where}: not a regular expression: {exc}") from None
    if "message" not in regex.groupindex:
        raise ConfigError(f"{where}: no (?P<message>...) group")
    groups: list[tuple[str, str]] = []
    for group in regex.groupindex:
        field = field_of(group)
        if field is None:
            raise ConfigError(
                f"{where}: group {group!r} names no known field ({group.replace('__', '.')}); "
                "use message, level, timestamp, logger, thread, pid, an ECS name with '__' for '.' "
                "(client__ip) or labels__<name>"
            )
        if field != "message":
            groups.append((group, field))
    return NamedPattern(name, regex, tuple(groups))


def compile_patterns(spec: str | Mapping[str, Any], reserved: Iterable[str] = ()) -> dict[str, NamedPattern]:
    """Compile the ``parse_patterns`` setting (a JSON object text or a mapping of name -> regex).

    Raises :class:`~logfleet.core.errors.ConfigError` naming the pattern at fault; ``reserved`` are names a
    pattern may not take (the built-in parsers').
    """
    if isinstance(spec, str):
        if not spec.strip():
            return {}
        try:
            spec = orjson.loads(spec)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"parse_patterns: not a JSON object of name -> regex: {exc}") from None
        if not isinstance(spec, dict):
            raise ConfigError("parse_patterns: not a JSON object of name -> regex")
    reserved = frozenset(reserved)
    return {str(name): _compile_one(str(name), expression, reserved) for name, expression in spec.items()}


_REGISTERED: dict[str, NamedPattern] = {}


def register(patterns: Mapping[str, NamedPattern]) -> None:
    """Make ``patterns`` the named patterns ``parse_line`` knows (replacing any registered before)."""
    _REGISTERED.clear()
    _REGISTERED.update(patterns)


def lookup(name: str) -> Callable[[str], Parsed | None] | None:
    """The parse function of the registered pattern ``name``, or ``None``."""
    pattern = _REGISTERED.get(name)
    return None if pattern is None else pattern.parse
