"""Line parsers: detect the format of one log line and turn it into ECS-shaped fields.

``parse_line`` is the single entry point; it never raises, whatever the input. Detection looks at
the first character and a few fixed positions before any regex runs, so each line tries at most a
few anchored parsers (most one) and plain text that looks like none of them pays only for the
level sniffer:

1. ``{`` (also after leading blanks): JSON object (``json``), else plain.
2. ``<``: syslog with PRI, RFC 5424 (``syslog-5424``) when ``1 `` follows, else RFC 3164
   (``syslog-3164``); else plain.
3. other leading blank, or empty: plain.
4. a digit:
   - ``dddd-dd-ddT``: `` --- `` soon after: Spring Boot (``spring``); a tab after the time: zap
     (``zap``); else MySQL 5.7/8.0 (``mysql``) if ``THREAD [Level]`` follows, else on to 7-9;
   - ``dddd-dd-dd ``: `` --- ``: ``spring``; ``,mmm - `` after the seconds: Python ``logging``
     (``python``); ``.mmm `` or ``,mmm ``: Logback/Log4j (``logback``); ``:  `` in the line: PostgreSQL
     (``postgres``); then MariaDB/MySQL 5.6 (``mysql``), logcat with a year (``logcat``);
   - ``dddd/dd/dd ``: `` [`` after the time: nginx error log (``nginx-error``), else Go's ``log``
     (``golog``);
   - ``dd-dd dd:``: Android logcat (``logcat``); ``hh:mm:ss.mmm [``: Logback (``logback``);
     ``dddddd  h:`` MySQL 5.5 (``mysql``);
   - ``PID:R `` (R one of ``XCSM``), ``PID:signal-handler``, ``dd Mmm``: Redis (``redis``);
5. ``[``: ``[Www Mmm`` Apache error log (``apache-error``); ``[dddd-`` gunicorn/Flask/Celery
   (``python``) or Monolog (``monolog``); ``[digits]`` old Redis (``redis``);
6. a letter: ``[IWEF]dddd `` klog (``klog``); ``L/`` logcat brief (``logcat``); ``L, [`` Ruby
   ``Logger`` (``ruby``); ``LEVEL:`` Python (``python``); ``info: ``/``fail: ``... .NET (``dotnet``);
7. ``key=`` as the first token: logfmt (``logfmt``).
8. ``] "`` within the first 1024 characters: nginx/Apache access log (``access``).
9. ``Mmm `` (a month) at the start: BSD syslog without PRI (``syslog-3164``); ``dddd-dd-ddT`` with a
   ``TAG:``: syslog with an ISO 8601 timestamp (``syslog-3164``).
10. everything else, and every line a parser above turned down: plain text (``plain``).

A record the shipper joined (it holds ``\\n``) is parsed by its first line; a stack trace in it gives
``error.*`` fields (see ``trace.py``), other continuation lines are appended to the message.

A container picks its parser with the label ``logfleet.parser=<name>`` (``parse_line(text, parser)``):
a built-in name (``PARSERS``) or a named pattern from the configuration (see ``patterns.py``); a line
that parser turns down is plain text, and an unknown name means auto-detection.

A trailing ``\\r``/``\\n`` is ignored by the structured parsers; plain text keeps it in ``message``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from processor.parse.access import parse_access
from processor.parse.apps import (
    parse_dotnet,
    parse_golog,
    parse_monolog,
    parse_python,
    parse_ruby,
    parse_zap,
)
from processor.parse.databases import parse_mysql, parse_postgres
from processor.parse.jsonline import parse_json
from processor.parse.jvm import parse_logback, parse_spring
from processor.parse.klog import parse_klog, parse_logcat
from processor.parse.logfmt import parse_logfmt
from processor.parse.model import Parsed
from processor.parse.patterns import NamedPattern, compile_patterns, lookup, register
from processor.parse.plain import parse_plain
from processor.parse.servers import parse_apache_error, parse_nginx_error, parse_redis
from processor.parse.syslog import MONTHS, parse_rfc3164, parse_syslog
from processor.parse.trace import apply, find_trace, split_head

__all__ = ["PARSERS", "PARSER_LABEL", "Parsed", "compile_named_patterns", "parse_line", "use_named_patterns"]

PARSER_LABEL: Final = "logfleet.parser"

_ACCESS_WINDOW = 1024
_LOGFMT_KEY_WINDOW = 128
_WEEKDAYS: Final = frozenset({"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"})
_REDIS_ROLES: Final = frozenset({"X ", "C ", "S ", "M "})
_DOTNET_LEVELS: Final = frozenset({"trce", "dbug", "info", "warn", "fail", "crit"})

Parser = Callable[[str], Parsed | None]


def _syslog_any(text: str) -> Parsed | None:
    return parse_syslog(text) if text[:1] == "<" else parse_rfc3164(text, require_tag=False)


def _never(text: str) -> Parsed | None:
    return None


# Built-in parsers by the name a container's ``logfleet.parser`` label may give.
PARSERS: Final[dict[str, Parser]] = {
    "json": parse_json,
    "logfmt": parse_logfmt,
    "access": parse_access,
    "syslog": _syslog_any,
    "klog": parse_klog,
    "logcat": parse_logcat,
    "nginx-error": parse_nginx_error,
    "apache-error": parse_apache_error,
    "redis": parse_redis,
    "postgres": parse_postgres,
    "mysql": parse_mysql,
    "spring": parse_spring,
    "logback": parse_logback,
    "python": parse_python,
    "golog": parse_golog,
    "zap": parse_zap,
    "ruby": parse_ruby,
    "dotnet": parse_dotnet,
    "monolog": parse_monolog,
    "plain": _never,
}
_ALIASES: Final = {
    "nginx_error": "nginx-error",
    "apache_error": "apache-error",
    "httpd-error": "apache-error",
    "postgresql": "postgres",
    "mariadb": "mysql",
    "spring-boot": "spring",
    "go": "golog",
    "android": "logcat",
    "laravel": "monolog",
    "glog": "klog",
    "log4j": "logback",
}


def _dated(text: str) -> Parsed | None:
    """Lines that start with ``dddd-dd-dd``."""
    separator = text[10:11]
    if text.find(" --- ", 19, 160) > 0:
        return parse_spring(text)
    if separator == "T":
        if "\t" in text[19:40]:
            return parse_zap(text)
        return parse_mysql(text)
    if separator != " ":
        return None
    if text[19:20] == ",":
        parsed = parse_python(text)
        if parsed is not None:
            return parsed
    if text[23:24] == " " and text[19:20] in ".,":
        parsed = parse_logback(text)
        if parsed is not None:
            return parsed
    if ":  " in text:
        parsed = parse_postgres(text)
        if parsed is not None:
            return parsed
    return parse_mysql(text) or parse_logcat(text)


def _digits(text: str) -> Parsed | None:
    """Lines that start with a digit (see the module doc)."""
    fourth = text[4:5]
    if fourth == "-" and text[7:8] == "-":
        return _dated(text)
    if fourth == "/" and text[7:8] == "/" and text[10:11] == " ":
        if text[19:21] == " [":
            parsed = parse_nginx_error(text)
            if parsed is not None:
                return parsed
        return parse_golog(text)
    if text[2:3] == "-" and text[5:6] == " " and text[8:9] == ":":
        return parse_logcat(text)
    if text[2:3] == ":" and text[12:14] == " [" and text[8:9] in ".,":
        return parse_logback(text)
    if text[6:7] == " " and text[9:10] == ":" and text[:6].isdigit():
        return parse_mysql(text)
    colon = text.find(":", 1, 9)
    if colon > 0 and (text[colon + 1 : colon + 3] in _REDIS_ROLES or text.startswith("signal-handler", colon + 1)):
        return parse_redis(text)
    if (text[2:3] == " " and text[3:6] in MONTHS) or (text[1:2] == " " and text[2:5] in MONTHS):
        return parse_redis(text)
    return None


def _bracketed(text: str) -> Parsed | None:
    """Lines that start with ``[``."""
    if text[4:5] == " " and text[1:4] in _WEEKDAYS:
        return parse_apache_error(text)
    if text[5:6] == "-" and text[1:5].isdigit():
        return parse_python(text) or parse_monolog(text)
    if text[1:2].isdigit():
        return parse_redis(text)
    return None


def _lettered(text: str, first: str) -> Parsed | None:
    """Lines that start with a letter."""
    if first in "IWEF" and text[5:6] == " " and text[1:5].isdigit():
        return parse_klog(text)
    if text[1:2] == "/":
        return parse_logcat(text) if first in "VDIWEFA" else None
    if text[1:4] == ", [":
        return parse_ruby(text)
    if first in "DIWECT" and ":" in text[:10]:
        return parse_python(text)
    if text[4:6] == ": " and text[:4] in _DOTNET_LEVELS:
        return parse_dotnet(text)
    return None


def _detect_line(text: str) -> Parsed:
    """Detect and parse one line (no ``\\n`` in it, no line end)."""
    first = text[:1]
    if first == "{":
        return parse_json(text) or parse_plain(text)
    if first == "<":
        return parse_syslog(text) or parse_plain(text)
    if not first or first.isspace():
        if text.lstrip()[:1] == "{":
            return parse_json(text) or parse_plain(text)
        return parse_plain(text)
    parsed: Parsed | None = None
    if first.isdigit():
        if "." not in text[1:4]:  # not an IPv4 address (an access log line)
            parsed = _digits(text)
    elif first == "[":
        parsed = _bracketed(text)
    elif first.isalpha():
        parsed = _lettered(text, first)
    if parsed is not None:
        return parsed
    equals = text.find("=", 1, _LOGFMT_KEY_WINDOW)
    if equals > 0 and text.find(" ", 0, equals) < 0:
        parsed = parse_logfmt(text)
    if parsed is None and text.find('] "', 0, _ACCESS_WINDOW) >= 0:
        parsed = parse_access(text)
    if parsed is None:
        if text[3:4] == " " and text[:3] in MONTHS:
            parsed = parse_rfc3164(text, require_tag=False)
        elif text[10:11] == "T" and text[4:5] == "-" and first.isdigit():
            parsed = parse_rfc3164(text, require_tag=True)
    return parsed or parse_plain(text)


def _one(text: str, parser: str | None) -> Parsed:
    """One line, by the named parser when there is one, else by detection."""
    if parser is None:
        return _detect_line(text)
    chosen = PARSERS.get(parser) or PARSERS.get(_ALIASES.get(parser, "")) or lookup(parser)
    if chosen is None:
        return _detect_line(text)
    return chosen(text) or parse_plain(text)


def _shared_prefix_cut(head: str, line: str) -> str:
    """``line`` without the prefix (10+ characters, up to a blank) it shares with ``head``."""
    if line[:10] != head[:10]:
        return line
    limit = min(len(head), len(line))
    same = 10
    while same < limit and head[same] == line[same]:
        same += 1
    blank = line.rfind(" ", 0, same)
    return line[blank + 1 :] if blank >= 9 else line


def _joined(text: str, parser: str | None) -> Parsed:
    """A record of several lines (the shipper joined them): parse the first, then the rest."""
    head_lines = split_head(text)
    trace = find_trace(head_lines, text)
    if trace is not None and trace.bare and not trace.start:
        parsed = Parsed("plain", {"message": head_lines[0]})  # the trace's own first line: no header to parse
    else:
        parsed = _one(head_lines[0], parser)
    if trace is not None:
        apply(parsed, trace, head_lines, text)
        return parsed
    if parsed.format == "plain":
        parsed.fields["message"] = text
        return parsed
    lines = text.split("\n")
    head = lines[0]
    if parsed.format == "dotnet":
        rest = [line[6:] if line.startswith("      ") else line for line in lines[1:]]
    else:
        rest = [_shared_prefix_cut(head, line) for line in lines[1:]]
    message = parsed.fields["message"]
    parsed.fields["message"] = "\n".join([message, *rest] if message else rest)
    return parsed


def _detect(text: str, parser: str | None) -> Parsed:
    if parser is None and text[:1] == "{" and text[-1:] == "}":  # the most common line: one JSON object
        parsed = parse_json(text)
        if parsed is not None:
            return parsed
    if text and text[-1] in "\r\n":  # a line end left on (TTY streams end lines with \r\n)
        without_end = _detect(text.rstrip("\r\n"), parser)
        if without_end.format == "plain" and "error" not in without_end.fields:
            without_end.fields["message"] = text
        return without_end
    if "\n" in text:
        return _joined(text, parser)
    return _detect_line(text) if parser is None else _one(text, parser)


def parse_line(text: str, parser: str | None = None) -> Parsed:
    """Detect and parse one log line or joined record (without its line ending); never raises.

    ``parser`` is the container's choice (its ``logfleet.parser`` label): a name in ``PARSERS`` or a
    registered named pattern; ``None`` or an unknown name means detection. Returns the format
    (``json``, ``logfmt``, ``access``, ``syslog-3164``, ``syslog-5424``, ``klog``, ``nginx-error``, ...,
    a pattern's name, or ``plain``), ECS-shaped ``fields`` (always with a str ``message``; a new dict on
    every call, so the caller may change it), for JSON objects the decoded ``document``, and the time
    the line states as written (``stated_time``).
    """
    try:
        return _detect(text, parser)
    except Exception:  # a parser bug must not lose the line: keep it as plain text
        return Parsed("plain", {"message": text if isinstance(text, str) else str(text)})


def compile_named_patterns(spec: str | Mapping[str, Any]) -> dict[str, NamedPattern]:
    """Compile the ``parse_patterns`` setting; raises ``ConfigError`` (see ``patterns.py``)."""
    return compile_patterns(spec, reserved=[*PARSERS, *_ALIASES])


def use_named_patterns(spec: str | Mapping[str, Any]) -> dict[str, NamedPattern]:
    """Compile the ``parse_patterns`` setting and make its patterns the ones ``parse_line`` knows."""
    patterns = compile_named_patterns(spec)
    register(patterns)
    return patterns
