"""Application runtimes' default text formats: Python (``python``), Go ``log`` (``golog``), zap's console
encoder (``zap``), Ruby's ``Logger`` (``ruby``), PHP's Monolog (``monolog``), .NET's console logger
(``dotnet``). The JVM's are in ``jvm.py``.

Python: ``logging.basicConfig``'s ``%(levelname)s:%(name)s:%(message)s`` (``WARNING:root:Watch out!``),
the cookbook's ``%(asctime)s - %(name)s - %(levelname)s - %(message)s`` (and without the name, and
``%(asctime)s [%(levelname)s] %(name)s: %(message)s``), uvicorn's ``INFO:     message``, gunicorn's
``[2026-12-03 05:54:01 +0000] [7] [INFO] message``, Flask's ``[%(asctime)s] %(levelname)s in %(module)s:
%(message)s`` and Celery's ``[%(asctime)s: %(levelname)s/%(processName)s] %(message)s``.

Go's ``log`` package with its default flags (``2026/12/03 05:54:01 msg``), microseconds and
``Lshortfile``/``Llongfile`` (``2026/12/03 05:54:01.123456 main.go:12: msg``). ``log/slog``'s default
handler writes through it with the level first (``2022/11/08 15:28:26 INFO hello count=3``): that level
is taken off the message; otherwise the level, if any, is sniffed from the message as for plain text.

zap's development console encoder, tab-separated: ``TIME\\tLEVEL\\t[LOGGER\\t]CALLER\\tMESSAGE[\\tJSON]``;
the JSON fields are mapped like a JSON line's (``error`` -> ``error.message``, the rest under ``app``).

Ruby's ``Logger`` default: ``E, [2026-12-03T05:54:01.123456 #1] ERROR -- progname: message``.

Monolog's ``LineFormatter`` (PHP, Laravel's default): ``[2026-12-03 05:54:01] production.ERROR: msg {context} []``;
the channel goes to ``log.logger``; the context and extra it appends are dropped when empty (``[]``,
``{}``) and kept in the message otherwise.

.NET's console logger (``simple`` formatter): ``fail: Microsoft.AspNetCore.Server.Kestrel[13]`` with the
message on the following, indented lines (which the shipper joins) or on the same line
(``SingleLine``); ``trce``/``dbug``/``info``/``warn``/``fail``/``crit``, the category goes to ``log.logger``
and the event id to ``event.code``.
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

from processor.parse.ecs import map_object
from processor.parse.levels import normalise_level
from processor.parse.model import Parsed
from processor.parse.plain import sniff_level

_PY_LEVELS: Final = "DEBUG|INFO|WARNING|ERROR|CRITICAL"
_PY_PREFIXES: Final = ("DEBUG:", "INFO:", "WARNING:", "ERROR:", "CRITICAL:", "TRACE:")
_PY_DEFAULT: Final = re.compile(rf"(?P<level>{_PY_LEVELS}):(?P<logger>[^\s:][^:]*):(?P<msg>.*)", re.DOTALL)
_PY_UVICORN: Final = re.compile(rf"(?P<level>{_PY_LEVELS}|TRACE): +(?P<msg>.*)", re.DOTALL)
_PY_ASCTIME: Final = r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})"
_PY_DASHES: Final = re.compile(
    _PY_ASCTIME + rf" - (?:(?P<logger>\S+) - )?(?P<level>{_PY_LEVELS}) - (?P<msg>.*)", re.DOTALL
)
_PY_BRACKET_LEVEL: Final = re.compile(
    _PY_ASCTIME + rf" \[(?P<level>{_PY_LEVELS})\] (?:(?P<logger>[^\s:]+): )?(?P<msg>.*)", re.DOTALL
)
_PY_BRACKETED: Final = re.compile(
    r"\[(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:,\d{3})?(?: [+-]\d{4})?)(?:\] | ?)"
    r"(?:\[(?P<pid>\d+)\] \[(?P<gunicorn_level>[A-Z]+)\] "  # gunicorn
    rf"|(?P<flask_level>{_PY_LEVELS}) in (?P<module>[\w.]+): "  # Flask
    r"|: ?(?P<celery_level>[A-Z]+)/(?P<process>[^\]]+)\] )"  # Celery
    r"(?P<msg>.*)",
    re.DOTALL,
)

_GOLOG: Final = re.compile(
    r"(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})?) (?:(?P<file>[^\s:]+\.go):(?P<line>\d+): )?(?P<msg>.*)",
    re.DOTALL | re.ASCII,
)

_SLOG_LEVELS: Final = {"DEBUG ": "debug", "INFO ": "info", "WARN ": "warn", "ERROR ": "error"}

_ZAP_HEAD: Final = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\t(?P<level>[A-Za-z]+)\t", re.ASCII
)
_CALLER: Final = re.compile(r"(?P<file>\S+\.go):(?P<line>\d+)", re.ASCII)

_RUBY: Final = re.compile(
    r"[DIWEFAU], \[(?P<time>[^\]\s]+) #(?P<pid>\d+)\] +(?P<level>[A-Z]+) -- (?P<prog>.*?): (?P<msg>.*)",
    re.DOTALL | re.ASCII,
)

_MONOLOG: Final = re.compile(
    r"\[(?P<time>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\] "
    r"(?P<channel>[\w.-]+?)\.(?P<level>[A-Z]+): (?P<msg>.*)",
    re.DOTALL | re.ASCII,
)
_MONOLOG_EMPTY: Final = (" []", " {}")

_DOTNET: Final = re.compile(
    r"(?P<level>trce|dbug|info|warn|fail|crit): (?P<category>[^\s\[]+)\[(?P<event>-?\d+)\](?: (?P<msg>.*))?",
    re.DOTALL | re.ASCII,
)
_DOTNET_LEVEL: Final = {
    "trce": "trace",
    "dbug": "debug",
    "info": "info",
    "warn": "warn",
    "fail": "error",
    "crit": "fatal",
}


def _with_level(fields: dict[str, Any], word: str | None) -> dict[str, Any]:
    """``fields`` with ``log.level`` set from ``word`` when it names a level."""
    level = normalise_level(word) if word else None
    if level is not None:
        fields.setdefault("log", {})["level"] = level
    return fields


def _python_bracketed(text: str) -> Parsed | None:
    match = _PY_BRACKETED.fullmatch(text)
    if match is None:
        return None
    groups = match.groupdict()
    fields: dict[str, Any] = {"message": groups["msg"]}
    if groups["pid"] is not None:
        fields["process"] = {"pid": int(groups["pid"])}
        _with_level(fields, groups["gunicorn_level"])
    elif groups["module"] is not None:
        fields["log"] = {"logger": groups["module"]}
        _with_level(fields, groups["flask_level"])
    else:
        fields["process"] = {"name": groups["process"]}
        _with_level(fields, groups["celery_level"])
    return Parsed("python", fields, stated_time=groups["time"])


def parse_python(text: str) -> Parsed | None:
    """Parse a Python ``logging``/uvicorn/gunicorn/Flask/Celery line (format ``python``), or ``None``."""
    first = text[:1]
    if first == "[":
        return _python_bracketed(text)
    if first.isdigit():
        match = _PY_DASHES.fullmatch(text) or _PY_BRACKET_LEVEL.fullmatch(text)
        if match is None:
            return None
        time, logger, level, msg = match.group("time", "logger", "level", "msg")
        fields = _with_level({"message": msg}, level)
        if logger:
            fields["log"]["logger"] = logger
        return Parsed("python", fields, stated_time=time)
    if not text.startswith(_PY_PREFIXES):
        return None
    match = _PY_UVICORN.fullmatch(text) if text[text.index(":") + 1 : text.index(":") + 2] == " " else None
    if match is not None:
        return Parsed("python", _with_level({"message": match.group("msg")}, match.group("level")))
    match = _PY_DEFAULT.fullmatch(text)
    if match is None:
        return None
    level, logger, msg = match.groups()
    return Parsed("python", _with_level({"message": msg, "log": {"logger": logger}}, level))


def parse_golog(text: str) -> Parsed | None:
    """Parse a line of Go's standard ``log`` package (format ``golog``), or return ``None``."""
    match = _GOLOG.fullmatch(text)
    if match is None:
        return None
    time, file, line, msg = match.groups()
    first = msg[: msg.find(" ") + 1]
    level = _SLOG_LEVELS.get(first) if first else None
    if level is not None:
        msg = msg[len(first) :]
    else:
        level = sniff_level(msg)
    fields: dict[str, Any] = {"message": msg}
    if level is not None:
        fields["log"] = {"level": level}
    if file is not None:
        fields.setdefault("log", {})["origin"] = {"file": {"name": file, "line": int(line)}}
    return Parsed("golog", fields, stated_time=time)


def _zap_context(fields: dict[str, Any], raw: str) -> None:
    """The JSON object zap appends, mapped like a JSON line (its message, if any, is left out)."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        fields["message"] += "\t" + raw
        return
    if not isinstance(document, dict):
        fields["message"] += "\t" + raw
        return
    for key, value in map_object(document, "")[0].items():
        if key == "message":
            continue
        held = fields.get(key)
        if isinstance(held, dict) and isinstance(value, dict):
            for inner, inner_value in value.items():
                held.setdefault(inner, inner_value)
        else:
            fields.setdefault(key, value)


def parse_zap(text: str) -> Parsed | None:
    """Parse a line of zap's development console encoder (format ``zap``), or return ``None``."""
    head = _ZAP_HEAD.match(text)
    if head is None:
        return None
    parts = text[head.end() :].split("\t")
    context = parts.pop() if len(parts) > 1 and parts[-1][:1] == "{" and parts[-1][-1:] == "}" else None
    fields = _with_level({"message": ""}, head.group("level"))
    for index, part in enumerate(parts[:2]):
        caller = _CALLER.fullmatch(part)
        if caller is not None:
            origin = {"file": {"name": caller.group("file"), "line": int(caller.group("line"))}}
            fields.setdefault("log", {})["origin"] = origin
            if index == 1:
                fields["log"]["logger"] = parts[0]
            parts = parts[index + 1 :]
            break
    fields["message"] = "\t".join(parts)
    if context is not None:
        _zap_context(fields, context)
    return Parsed("zap", fields, stated_time=head.group("time"))


def parse_ruby(text: str) -> Parsed | None:
    """Parse a line of Ruby's ``Logger`` default format (format ``ruby``), or return ``None``."""
    match = _RUBY.fullmatch(text)
    if match is None:
        return None
    time, pid, level, prog, msg = match.groups()
    fields = _with_level({"message": msg, "process": {"pid": int(pid)}}, level)
    if prog:
        fields.setdefault("log", {})["logger"] = prog
    return Parsed("ruby", fields, stated_time=time)


def parse_monolog(text: str) -> Parsed | None:
    """Parse a line of Monolog's default ``LineFormatter`` (format ``monolog``), or return ``None``."""
    match = _MONOLOG.fullmatch(text)
    if match is None:
        return None
    time, channel, level, msg = match.groups()
    for _ in range(2):  # the context, then the extra (empty ones only)
        if msg.endswith(_MONOLOG_EMPTY):
            msg = msg[:-3]
    return Parsed("monolog", _with_level({"message": msg, "log": {"logger": channel}}, level), stated_time=time)


def parse_dotnet(text: str) -> Parsed | None:
    """Parse the first line of a .NET console logger entry (format ``dotnet``), or return ``None``."""
    match = _DOTNET.fullmatch(text)
    if match is None:
        return None
    level, category, event, msg = match.groups()
    fields: dict[str, Any] = {
        "message": msg or "",
        "log": {"level": _DOTNET_LEVEL[level], "logger": category},
        "event": {"code": event},
    }
    return Parsed("dotnet", fields)
