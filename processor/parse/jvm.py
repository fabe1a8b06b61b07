"""JVM text formats: Spring Boot's default console pattern (``spring``) and the usual Logback/Log4j
patterns (``logback``).

Spring Boot, 1.x-2.x and 3.x (with the application name from 3.2 and the correlation id from 3.4), as
in the Spring Boot reference documentation ("Logging > Log Format")::

    2014-03-05 10:57:51.253  INFO 45469 --- [ost-startStop-1] o.s.web.context.ContextLoader            : Root ...
    2025-05-10T01:34:33.608Z  INFO 88909 --- [myapp] [           main] o.s.b.d.f.logexample.MyApplication : ...

-> ``log.level``, ``process.pid``, ``process.thread.name``, ``log.logger``, ``service.name`` (the
application name), ``trace.id``/``span.id`` (a ``[trace-span]`` correlation id).

Logback's documented example pattern ``%d{HH:mm:ss.SSS} [%thread] %-5level %logger{36} - %msg%n`` and the
common ``%d %-5level [%thread] %logger - %msg%n`` (Log4j's ``%d %-5p [%t] %c - %m%n``)::

    09:32:59.948 [main] ERROR o.s.boot.SpringApplication - Application run failed
    2024-01-01 12:00:00,123 ERROR [worker-3] c.e.Service - request failed

-> ``log.level``, ``process.thread.name``, ``log.logger``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from processor.parse.levels import normalise_level
from processor.parse.model import Parsed

_SPRING: Final = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d[.,]\d{3,9}(?:Z|[+-]\d\d:?\d\d)?) +(?P<level>[A-Z]+) +"
    r"(?P<pid>\d+|\?) --- (?:\[(?P<app>[^\]]*)\] )?\[ *(?P<thread>[^\]]*?) *\] (?:\[(?P<correlation>[^\]]*)\] )?"
    r"(?P<logger>\S+) *: (?P<msg>.*)",
    re.DOTALL | re.ASCII,
)
_CORRELATION: Final = re.compile(r"(?P<trace>[0-9a-fA-F]{16,32})-(?P<span>[0-9a-fA-F]{16})", re.ASCII)
_LEVELS: Final = "TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL"
_TIME: Final = r"(?P<time>(?:\d{4}-\d\d-\d\d[ T])?\d\d:\d\d:\d\d[.,]\d{3})"
_LOGBACK: Final = re.compile(
    _TIME + rf" (?:\[(?P<thread>[^\]]*)\] (?P<level>{_LEVELS}) +|(?P<level2>{_LEVELS}) +\[(?P<thread2>[^\]]*)\] )"
    r"(?P<logger>[^\s\[\]]+) +- (?P<msg>.*)",
    re.DOTALL | re.ASCII,
)


def _base(msg: str, logger: str, level: str) -> dict[str, Any]:
    fields: dict[str, Any] = {"message": msg, "log": {"logger": logger}}
    normal = normalise_level(level)
    if normal is not None:
        fields["log"]["level"] = normal
    return fields


def parse_spring(text: str) -> Parsed | None:
    """Parse a Spring Boot default console line (format ``spring``), or return ``None``."""
    match = _SPRING.fullmatch(text)
    if match is None:
        return None
    time, level, pid, app, thread, correlation, logger, msg = match.groups()
    fields = _base(msg, logger, level)
    process: dict[str, Any] = {"thread": {"name": thread}} if thread else {}
    if pid != "?":
        process["pid"] = int(pid)
    if process:
        fields["process"] = process
    if app:
        fields["service"] = {"name": app}
    if correlation:
        ids = _CORRELATION.fullmatch(correlation.strip())
        if ids is not None:
            fields["trace"] = {"id": ids.group("trace").lower()}
            fields["span"] = {"id": ids.group("span").lower()}
    return Parsed("spring", fields, stated_time=time)


def parse_logback(text: str) -> Parsed | None:
    """Parse a line of the usual Logback/Log4j patterns (format ``logback``), or return ``None``."""
    match = _LOGBACK.fullmatch(text)
    if match is None:
        return None
    groups = match.groupdict()
    fields = _base(groups["msg"], groups["logger"], groups["level"] or groups["level2"])
    thread = groups["thread"] if groups["thread"] is not None else groups["thread2"]
    if thread:
        fields["process"] = {"thread": {"name": thread}}
    return Parsed("logback", fields, stated_time=groups["time"])
