"""JSON dialects: which logger wrote an object, and the key table that maps its keys onto ECS.

:func:`detect` looks for one signature key per dialect (a dict look-up each, in a fixed order; no
regex) and returns that dialect's :class:`~processor.parse.ecs.KeyMap`: the common table of
``ecs.py`` plus the keys only that logger uses, with converters for its values. The name goes to
``Parsed.dialect`` and from there to the event's ``logfleet.dialect``.

==================  ===============================================  ============================================
dialect             recognised by                                    maps besides the common keys
==================  ===============================================  ============================================
``ecs``             ``@timestamp`` and ``ecs.version`` (or ``ecs``)  (the ECS logging libraries: canonical keys)
``logstash``        ``@timestamp`` and ``@version``                  (logstash-logback-encoder: ``level``,
                                                                     ``logger_name``, ``stack_trace``)
``clef``            ``@t``                                           ``@t`` time, ``@m``/``@mt`` message (a
                                                                     template rendered with the properties),
                                                                     ``@l`` level (absent: info), ``@x``
                                                                     stack trace, ``@tr``/``@sp`` trace and
                                                                     span ids, ``SourceContext`` logger
``mongodb``         ``t`` an object, and ``s``                       ``t.$date`` time, ``s`` level (F E W I
                                                                     D1..D5), ``c`` logger (the component)
``dotnet``          ``LogLevel`` and ``Category``                    ``Timestamp``, ``LogLevel``, ``Category``,
                                                                     ``Message``, ``Exception``
``tracing``         ``fields`` an object, and ``target``             ``fields.message``, ``fields.error``,
                                                                     ``target`` logger (Rust tracing-subscriber)
``log4j2``          ``loggerName``                                   ``instant`` or ``timeMillis`` time,
                                                                     ``loggerName``, ``thrown.*`` error
``loguru``          ``record`` an object, and ``text``               ``record.message``, ``record.level.name``,
                                                                     ``record.time.repr``, ``record.name``,
                                                                     ``record.exception`` (+ ``text``) error
``gelf``            ``short_message``                                ``short_message``, ``level`` as a syslog
                                                                     severity 0..7, ``timestamp`` seconds
``structlog``       ``event`` a string                               ``event`` message, ``exception``
``python-json``     ``levelname``                                    ``name`` logger, ``asctime``, ``exc_info``
``bunyan``          ``v`` and ``msg``                                ``name`` logger, ``err.*`` error
``zap``             ``ts`` and ``msg``                               ``stacktrace``, ``error`` (a string)
``pino``            ``msg``, ``pid`` and ``hostname``                ``name`` logger, ``err.*`` error
``logrus``          ``msg``, ``level`` and ``time``                  ``error`` (a string)
``zerolog``         ``message``, ``level`` and ``time``              ``error`` (a string)
``winston``         ``message``, ``level`` and ``timestamp``         ``stack``
==================  ===============================================  ============================================

The last six are told apart by their default keys only; another logger writing the same keys gets
the same name, which is harmless: the mapping is the same. Everything else is ``None`` (the
canonical form, or JSON of unknown origin) and uses the common table.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

from processor.parse.ecs import ALIASES, CONTAINERS, STATED_TIME, Alias, Convert, KeyMap, alias, as_time, level_of
from processor.parse.levels import level_from_severity

# --- value converters of single dialects -----------------------------------------------------------------

_MONGO_LEVELS: Final = {"F": "fatal", "E": "error", "W": "warn", "I": "info", "D": "debug"}


def _mongo_level(value: Any) -> str | None:
    """MongoDB's severity: F, E, W, I, and D or D1..D5 for the debug verbosities."""
    if isinstance(value, str) and 1 <= len(value) <= 2 and (len(value) == 1 or value[1] in "12345"):
        return _MONGO_LEVELS.get(value[0])
    return None


def _mongo_time(value: Any) -> str | int | None:
    """MongoDB extended JSON: ``{"$date": "2021-03-22T21:21:20.328+00:00"}`` or ``{"$date": {"$numberLong": ms}}``."""
    if isinstance(value, dict):
        date = value.get("$date")
        if isinstance(date, dict):
            date = date.get("$numberLong")
            return int(date) if isinstance(date, str) and date.isdigit() and date.isascii() else None
        return date if isinstance(date, str) and date else None
    return None


def _log4j2_instant(value: Any) -> int | None:
    """log4j2 JSONLayout's ``{"epochSecond": 1493121664, "nanoOfSecond": 118000000}`` in nanoseconds."""
    if isinstance(value, dict):
        seconds, nanos = value.get("epochSecond"), value.get("nanoOfSecond", 0)
        if type(seconds) is int and type(nanos) is int and seconds > 0 and 0 <= nanos < 1_000_000_000:
            return seconds * 1_000_000_000 + nanos
    return None


def _gelf_level(value: Any) -> str | None:
    """GELF's level is a syslog severity, 0 (emergency) to 7 (debug)."""
    if type(value) is int and 0 <= value <= 7:
        return level_from_severity(value)
    return None


def _clef_level(value: Any) -> str | None:
    """Serilog's levels; Verbose is below Debug."""
    if isinstance(value, str) and value.lower() == "verbose":
        return "trace"
    return level_of(value)


def _named(convert: Convert) -> Convert:
    """A converter of the ``name`` member of an object (loguru's ``record.level``)."""

    def of_name(value: Any) -> Any:
        return convert(value.get("name")) if isinstance(value, dict) else None

    return of_name


def _loguru_time(value: Any) -> str | int | float | None:
    """loguru's ``record.time``: ``{"repr": "2024-03-01 12:00:00.123456+01:00", "timestamp": 1709290800.123456}``."""
    if isinstance(value, dict):
        return as_time(value.get("repr")) or as_time(value.get("timestamp"))
    return None


# --- hooks that finish the fields ---------------------------------------------------------------------

_TOKEN: Final = re.compile(r"\{\{|\}\}|\{[@$]?(?P<name>[A-Za-z0-9_]+)(?:,-?[0-9]+)?(?::(?P<format>[^}]*))?\}")


def _render(template: str, obj: dict[str, Any]) -> str:
    """A Serilog message template with the event's properties (strings quoted, as Serilog renders them
    unless formatted ``:l``; a formatted token takes its pre-rendered value from ``@r``)."""
    renderings = obj.get("@r")
    rendered = iter(renderings if isinstance(renderings, list) else [])

    def value_of(token: re.Match[str]) -> str:
        text = token.group()
        if text in ("{{", "}}"):
            return text[0]
        name, fmt = token.group("name"), token.group("format")
        if name not in obj:
            return text
        value = obj[name]
        if fmt and fmt != "l":
            pre = next(rendered, None)
            if isinstance(pre, str):
                return pre
        if isinstance(value, str):
            return value if fmt == "l" else f'"{value}"'
        return orjson.dumps(value).decode()

    return _TOKEN.sub(value_of, template)


def _finish_clef(obj: dict[str, Any], fields: dict[str, Any]) -> None:
    template = obj.get("@mt")
    if "@m" not in obj and "message" not in obj and isinstance(template, str):
        fields["message"] = _render(template, obj)
    if "@l" not in obj:  # CLEF: no level means Information
        log = fields.get("log")
        if log is None:
            fields["log"] = {"level": "info"}
        else:
            log.setdefault("level", "info")


def _finish_log4j2(obj: dict[str, Any], fields: dict[str, Any]) -> None:
    thrown = obj.get("thrown")
    error = fields.get("error")
    if isinstance(thrown, dict) and isinstance(thrown.get("extendedStackTrace"), list) and isinstance(error, dict):
        stack = error.get("stack_trace")
        if isinstance(stack, str) and "type" in error:  # frames only: put the exception line first, as Java does
            head = f"{error['type']}: {error['message']}" if "message" in error else error["type"]
            error["stack_trace"] = f"{head}\n{stack}"


def _finish_loguru(obj: dict[str, Any], fields: dict[str, Any]) -> None:
    exception = obj["record"].get("exception")
    if isinstance(exception, dict) and "error" not in fields:
        error: dict[str, Any] = {}
        for source, target in (("type", "type"), ("value", "message")):
            if isinstance(exception.get(source), str):
                error[target] = exception[source]
        if isinstance(obj.get("text"), str):  # the formatted line, with the traceback after it
            error["stack_trace"] = obj["text"]
        fields["error"] = error


# --- the dialects --------------------------------------------------------------------------------------


def _dialect(name: str, extra: dict[str, Alias], containers: frozenset[str] = frozenset(), **hooks: Any) -> KeyMap:
    return KeyMap(name, {**ALIASES, **extra}, CONTAINERS | containers, **hooks)


ECS: Final = _dialect("ecs", {})
LOGSTASH: Final = _dialect("logstash", {})
CLEF: Final = _dialect(
    "clef",
    {
        "@t": alias(STATED_TIME, 1),
        "@m": alias("message", 1),
        "@mt": alias("message", 2),
        "@l": alias("log.level", 1, _clef_level),
        "@x": alias("error.stack_trace", 1),
        "@tr": alias("trace.id", 1),
        "@sp": alias("span.id", 1),
        "SourceContext": alias("log.logger", 1),
    },
    finish=_finish_clef,
)
MONGODB: Final = _dialect(
    "mongodb",
    {"t": alias(STATED_TIME, 1, _mongo_time), "s": alias("log.level", 1, _mongo_level), "c": alias("log.logger", 1)},
)
DOTNET: Final = _dialect(
    "dotnet",
    {
        "Timestamp": alias(STATED_TIME, 1),
        "LogLevel": alias("log.level", 1),
        "Category": alias("log.logger", 1),
        "Message": alias("message", 1),
        "Exception": alias("error.stack_trace", 1),
    },
)
TRACING: Final = _dialect(
    "tracing",
    {
        "fields.message": alias("message", 1),
        "fields.error": alias("error.message", 1),
        "target": alias("log.logger", 1),
    },
    frozenset({"fields"}),
)
LOG4J2: Final = _dialect(
    "log4j2",
    {
        "instant": alias(STATED_TIME, 1, _log4j2_instant),
        "timeMillis": alias(STATED_TIME, 2),
        "loggerName": alias("log.logger", 1),
        "thrown.name": alias("error.type", 1),
        "thrown.message": alias("error.message", 1),
        "thrown.localizedMessage": alias("error.message", 2),
        "thrown.extendedStackTrace": alias("error.stack_trace", 1),
    },
    frozenset({"thrown"}),
    finish=_finish_log4j2,
)
LOGURU: Final = _dialect(
    "loguru",
    {
        "record.message": alias("message", 1),
        "record.level": alias("log.level", 1, _named(level_of)),
        "record.time": alias(STATED_TIME, 1, _loguru_time),
        "record.name": alias("log.logger", 1),
    },
    frozenset({"record"}),
    finish=_finish_loguru,
)
GELF: Final = _dialect(
    "gelf", {"short_message": alias("message", 1), "level": alias("log.level", 1, _gelf_level)}
)
STRUCTLOG: Final = _dialect("structlog", {"event": alias("message", 1)})
PYTHON_JSON: Final = _dialect("python-json", {"name": alias("log.logger", 1)})
BUNYAN: Final = _dialect("bunyan", {"name": alias("log.logger", 1)})
ZAP: Final = _dialect("zap", {})
PINO: Final = _dialect("pino", {"name": alias("log.logger", 1)})
LOGRUS: Final = _dialect("logrus", {})
ZEROLOG: Final = _dialect("zerolog", {})
WINSTON: Final = _dialect("winston", {})

DIALECTS: Final = (
    ECS, LOGSTASH, CLEF, MONGODB, DOTNET, TRACING, LOG4J2, LOGURU, GELF, STRUCTLOG, PYTHON_JSON,
    BUNYAN, ZAP, PINO, LOGRUS, ZEROLOG, WINSTON,
)  # fmt: skip


def detect(obj: dict[str, Any]) -> KeyMap | None:
    """The dialect of a decoded JSON object, or None (canonical, or unknown): a look-up or two per dialect,
    the keys most lines have (``@timestamp``, ``msg``, ``message``) first."""
    if "@timestamp" in obj:
        if "ecs.version" in obj or type(obj.get("ecs")) is dict:
            return ECS
        return LOGSTASH if "@version" in obj else None
    if "msg" in obj:
        if type(obj.get("t")) is dict and "s" in obj:
            return MONGODB
        if "v" in obj:
            return BUNYAN
        if "ts" in obj:
            return ZAP
        if "pid" in obj and "hostname" in obj:
            return PINO
        return LOGRUS if "time" in obj and "level" in obj else None
    if "message" in obj:
        if "loggerName" in obj:
            return LOG4J2
        if "levelname" in obj:
            return PYTHON_JSON
        if type(obj.get("event")) is str:
            return STRUCTLOG
        if "level" in obj:
            if "time" in obj:
                return ZEROLOG
            if "timestamp" in obj:
                return WINSTON
        return None
    if "@t" in obj:
        return CLEF
    if "LogLevel" in obj and "Category" in obj:
        return DOTNET
    if type(obj.get("fields")) is dict and "target" in obj:
        return TRACING
    if "loggerName" in obj:
        return LOG4J2
    if type(obj.get("record")) is dict and "text" in obj:
        return LOGURU
    if "short_message" in obj:
        return GELF
    if type(obj.get("event")) is str:
        return STRUCTLOG
    return PYTHON_JSON if "levelname" in obj else None
