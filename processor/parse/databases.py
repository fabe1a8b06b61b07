"""Database server logs: PostgreSQL (``postgres``) and MySQL/MariaDB (``mysql``).

PostgreSQL writes ``log_line_prefix`` then ``SEVERITY:  message`` (two blanks after the colon). The
prefix forms accepted are the shipped defaults and their usual variants, as in Filebeat's postgresql
module tests::

    2019-07-23 12:06:24.406 UTC [25] LOG:  database system is ready to accept connections   (%m [%p])
    2017-04-07 22:45:30.218 CEST [22603] postgres@mydb ERROR:  column "a" does not exist    (Debian %q%u@%d)
    2018-11-17 13:14:01 CEST [12975-1] [unknown]@[unknown] LOG:  incomplete startup packet (%t [%p-%l])
    2026-12-03 05:54:01 UTC [123]: [1-1] user=app,db=shop,app=psql,client=10.0.0.1 LOG:  connection ...

The time goes to ``stated_time`` with its zone (``"2019-07-23 12:06:24.406 UTC"``), ``[pid]`` to
``process.pid``, ``user@db`` or ``user=``/``db=``/``client=`` to ``user.name``,
``postgresql.log.database`` (Filebeat's name) and ``client``; a SQLSTATE written before the message
(``log_error_verbosity = verbose``: ``ERROR:  42704: unrecognized ...``) to
``postgresql.log.sql_state_code``. Severities: ``DEBUG1``..``DEBUG5`` debug, ``LOG``/``INFO``/``NOTICE``
info, ``WARNING`` warn, ``ERROR`` error, ``FATAL``/``PANIC`` fatal. ``DETAIL``, ``HINT``, ``CONTEXT``,
``STATEMENT``, ``QUERY`` and ``LOCATION`` lines belong to the line before them; the shipper joins them to
an error or warning it holds (see ``shipper/multiline.py``), and a stray one (after a ``LOG`` line) is
``info``.

MySQL and MariaDB error logs (Filebeat's mysql module tests)::

    2019-03-24T13:44:31.533096Z 0 [Warning] [MY-010068] [Server] CA certificate ca.pem is self signed.   (8.0)
    2016-12-09T12:08:33.335060Z 0 [Warning] TIMESTAMP with implicit DEFAULT value is deprecated.        (5.7)
    2019-10-16 17:25:43 12 [ERROR] Event Scheduler: [root@localhost][test.test_error_log] hi             (MariaDB)
    161209 14:18:50 [Warning] Using unique option prefix myisam-recover instead of ...                  (5.5)

The thread id goes to ``process.thread.id``, ``MY-nnnnnn`` to ``event.code``, the subsystem
(``Server``, ``InnoDB``, ``Repl``) to ``log.logger``; ``System`` and ``Note`` are ``info``. A 5.5 line
without a ``[Level]`` (``161209 14:18:50  InnoDB: Starting shutdown...``) gets no level.
"""

from __future__ import annotations

import re
from typing import Any, Final

from processor.parse.common import endpoint
from processor.parse.model import Parsed

_PG_SEVERITIES: Final = (
    "LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]|DETAIL|HINT|CONTEXT|STATEMENT|QUERY|LOCATION"
)
_POSTGRES: Final = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Za-z+-][\w+:/-]*)?) "
    r"\[(?P<pid>\d+)(?:-(?P<session_line>\d+))?\]:? (?P<middle>.*?)"
    rf"(?<![^ \]])(?P<severity>{_PG_SEVERITIES}):  (?P<msg>.*)",
    re.DOTALL | re.ASCII,
)
_PG_USER_AT_DB: Final = re.compile(r"(?P<user>[^\s@]*)@(?P<db>\S*)", re.ASCII)
_PG_PAIRS: Final = re.compile(r"(?P<key>user|db|client|app)=(?P<value>[^,\s]*)", re.ASCII)
_SQLSTATE: Final = re.compile(r"(?=[A-Z]{0,4}[0-9])[0-9A-Z]{5}: ", re.ASCII)
_PG_LEVEL: Final = {
    "LOG": "info",
    "INFO": "info",
    "NOTICE": "info",
    "WARNING": "warn",
    "ERROR": "error",
    "FATAL": "fatal",
    "PANIC": "fatal",
}
_UNKNOWN: Final = "[unknown]"

_MYSQL: Final = re.compile(
    r"(?P<time>\d{4}-\d\d-\d\d(?:T\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?| [ \d]\d:\d\d:\d\d(?:\.\d+)?)) "
    r"(?P<thread>\d+) \[(?P<level>[A-Za-z]+)\] (?:\[(?P<code>MY-\d+)\] \[(?P<subsystem>[\w-]+)\] )?(?P<msg>.*)",
    re.DOTALL | re.ASCII,
)
_MYSQL_OLD: Final = re.compile(
    r"(?P<time>\d{6} [ \d]\d:\d\d:\d\d) +(?:\[(?P<level>[A-Za-z]+)\] )?(?P<msg>.*)", re.DOTALL | re.ASCII
)
_MYSQL_LEVEL: Final = {"system": "info", "note": "info", "info": "info", "warning": "warn", "error": "error"}


def _pg_middle(fields: dict[str, Any], middle: str) -> None:
    """``user@db`` (Debian's ``%q%u@%d``) or ``user=..,db=..,client=..`` pairs between pid and severity."""
    database = None
    if "=" in middle:
        for pair in _PG_PAIRS.finditer(middle):
            key, value = pair.group("key"), pair.group("value")
            if not value or value == _UNKNOWN:
                continue
            if key == "user":
                fields["user"] = {"name": value}
            elif key == "db":
                database = value
            elif key == "client":
                fields["client"] = endpoint(value)
    elif "@" in middle:
        found = _PG_USER_AT_DB.search(middle)
        if found is not None:
            user, database = found.group("user", "db")
            if user and user != _UNKNOWN:
                fields["user"] = {"name": user}
    if database and database != _UNKNOWN:
        fields.setdefault("postgresql", {}).setdefault("log", {})["database"] = database


def parse_postgres(text: str) -> Parsed | None:
    """Parse a PostgreSQL server log line (format ``postgres``), or return ``None``."""
    match = _POSTGRES.fullmatch(text)
    if match is None:
        return None
    time, pid, session_line, middle, severity, msg = match.groups()
    level = _PG_LEVEL.get(severity) or ("debug" if severity.startswith("DEBUG") else "info")
    fields: dict[str, Any] = {"message": msg, "log": {"level": level}, "process": {"pid": int(pid)}}
    if middle:
        _pg_middle(fields, middle)
    postgresql: dict[str, Any] = {}
    if session_line is not None:
        postgresql["session_line_num"] = int(session_line)
    if _SQLSTATE.match(msg) is not None:
        postgresql["sql_state_code"] = msg[:5]
        fields["message"] = msg[7:]
    if postgresql:
        fields.setdefault("postgresql", {}).setdefault("log", {}).update(postgresql)
    return Parsed("postgres", fields, stated_time=time)


def parse_mysql(text: str) -> Parsed | None:
    """Parse a MySQL or MariaDB error log line (format ``mysql``), or return ``None``."""
    match = _MYSQL.fullmatch(text)
    fields: dict[str, Any]
    if match is None:
        old = _MYSQL_OLD.fullmatch(text)
        if old is None:
            return None
        time, level_word, msg = old.groups()
        fields = {"message": msg}
        level = _MYSQL_LEVEL.get(level_word.lower()) if level_word else None
        if level is not None:
            fields["log"] = {"level": level}
        return Parsed("mysql", fields, stated_time=time)
    time, thread, level_word, code, subsystem, msg = match.groups()
    log: dict[str, Any] = {}
    level = _MYSQL_LEVEL.get(level_word.lower())
    if level is not None:
        log["level"] = level
    if subsystem is not None:
        log["logger"] = subsystem
    fields = {"message": msg, "process": {"thread": {"id": int(thread)}}}
    if log:
        fields["log"] = log
    if code is not None:
        fields["event"] = {"code": code}
    return Parsed("mysql", fields, stated_time=time)
