"""Error logs of web and cache servers: nginx (``nginx-error``), Apache httpd (``apache-error``), Redis
(``redis``).

nginx (``ngx_log_error_core``)::

    2016/10/25 14:49:34 [error] 54053#0: *1 open() "/x/favicon.ico" failed (2: No such file or directory),
    client: 127.0.0.1, server: localhost, request: "GET /favicon.ico HTTP/1.1", host: "localhost:8080"

``pid#tid`` go to ``process.pid``/``process.thread.id``, ``*N`` to ``nginx.error.connection_id`` (the name
Filebeat's nginx module uses); the message is the rest, context included, and the context pairs nginx
appends are also set as ECS fields: ``client`` -> ``client.ip``, ``server`` -> ``server.domain``,
``request`` -> ``http.request.method``/``url.original``/``http.version``, ``upstream`` ->
``destination.address``/``ip``/``port``, ``host`` -> ``url.domain``, ``referrer`` ->
``http.request.referrer``.

Apache httpd 2.4 and 2.2 (the default ``ErrorLogFormat``)::

    [Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] File...
    [Wed Oct 20 19:20:59.121211 2021] [rewrite:trace3] [pid 121591:tid 1404] mod_rewrite.c(470): [client ...
    [Mon Dec 26 16:22:00 2016] [error] [client 192.168.33.1] File does not exist: /var/www/favicon.ico

The module goes to ``apache.error.module`` (Filebeat's name), ``file.c(N)`` to ``log.origin.file``, the
client (``ip``, ``ip:port``, IPv6 ``::1:58619``) to ``client``, a trailing ``, referer: URL`` to
``http.request.referrer``; ``trace1``..``trace8`` are ``trace``.

Redis (``serverLogRaw``), from 1.x to 7.x::

    26571:M 27 Dec 2018 11:19:18.874 * Synchronization with replica 10.114.208.18:6023 succeeded
    4961:M 30 May 12:50:13.457 # Server started, Redis version 3.0.2
    [2932] 31 May 04:32:08 * The server is now ready to accept connections on port 6379
    30 May 10:05:20 . 0 clients connected (0 slaves), 618932 bytes in use, 0 shared objects.
    5092:signal-handler (1496141844) Received SIGINT scheduling shutdown...

The marker is the level (``.`` debug, ``-`` verbose -> debug, ``*`` notice -> info, ``#`` warning -> warn),
the role letter goes to ``redis.log.role`` (``M`` master, ``S`` replica, ``C`` child, ``X`` sentinel, as
Filebeat's redis module names them). A signal handler's line states no level; its time is the Unix
time it writes, as an int.
"""

from __future__ import annotations

import re
from typing import Any, Final

from processor.parse.common import endpoint, request_line, url_endpoint
from processor.parse.levels import normalise_level
from processor.parse.model import Parsed

_NGINX: Final = re.compile(
    r"(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d) \[(?P<level>[a-z]+)\] (?P<pid>\d+)#(?P<tid>\d+): "
    r"(?:\*(?P<cid>\d+) )?(?P<msg>.*)",
    re.DOTALL | re.ASCII,
)
_NGINX_CONTEXT: Final = re.compile(
    r', (?P<key>client|server|request|upstream|host|referrer): (?:"(?P<quoted>[^"]*)"|(?P<bare>[^,]*))', re.ASCII
)

_APACHE: Final = re.compile(
    r"\[(?P<time>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\] "
    r"\[(?:(?P<module>[\w-]*):)?(?P<level>[a-z]+\d?)\]"
    r"(?: \[pid (?P<pid>\d+)(?::tid (?P<tid>\d+))?\])?"
    r"(?: (?P<src>[\w.-]+)\((?P<srcline>\d+)\):)?"
    r"(?: \[client (?P<client>[^\]\s]+)\])?"
    r"(?: (?P<msg>.*))?",
    re.DOTALL | re.ASCII,
)
_REFERER: Final = ", referer: "

_REDIS_TIME: Final = r"(?P<time>\d\d? [A-Z][a-z]{2}(?: \d{4})? \d\d:\d\d:\d\d(?:\.\d+)?)"
_REDIS: Final = re.compile(
    r"(?:(?P<pid>\d+):(?P<role>[XCSM]) |\[(?P<oldpid>\d+)\] )?" + _REDIS_TIME + r" (?P<mark>[.*#-]) (?P<msg>.*)",
    re.DOTALL | re.ASCII,
)
_REDIS_SIGNAL: Final = re.compile(r"(?P<pid>\d+):signal-handler \((?P<time>\d+)\) (?P<msg>.*)", re.DOTALL | re.ASCII)
_REDIS_LEVEL: Final = {".": "debug", "-": "debug", "*": "info", "#": "warn"}
_REDIS_ROLE: Final = {"M": "master", "S": "slave", "C": "child", "X": "sentinel"}


def _nginx_context(fields: dict[str, Any], msg: str) -> None:
    """The ``, key: value`` pairs nginx appends to an error message, as ECS fields."""
    for match in _NGINX_CONTEXT.finditer(msg):
        key = match.group("key")
        value = match.group("quoted")
        if value is None:
            value = match.group("bare")
        if not value:
            continue
        if key == "client":
            fields["client"] = endpoint(value)
        elif key == "server":
            fields["server"] = {"domain": value}
        elif key == "request":
            request_line(fields, value)
        elif key == "upstream":
            destination = url_endpoint(value)
            if destination is not None:
                fields["destination"] = destination
        elif key == "host":
            host, _, port = value.partition(":")
            url = fields.setdefault("url", {})
            url["domain"] = host
            if port.isdigit() and port.isascii() and len(port) <= 5:
                url["port"] = int(port)
        else:
            fields.setdefault("http", {}).setdefault("request", {})["referrer"] = value


def parse_nginx_error(text: str) -> Parsed | None:
    """Parse an nginx error log line (format ``nginx-error``), or return ``None``."""
    match = _NGINX.fullmatch(text)
    if match is None:
        return None
    time, level, pid, tid, cid, msg = match.groups()
    log: dict[str, Any] = {}
    normal = normalise_level(level)
    if normal is not None:
        log["level"] = normal
    fields: dict[str, Any] = {"message": msg, "process": {"pid": int(pid), "thread": {"id": int(tid)}}}
    if log:
        fields["log"] = log
    if cid is not None:
        fields["nginx"] = {"error": {"connection_id": int(cid)}}
    if ", " in msg:
        _nginx_context(fields, msg)
    return Parsed("nginx-error", fields, stated_time=time)


def parse_apache_error(text: str) -> Parsed | None:
    """Parse an Apache httpd error log line, 2.2 or 2.4 (format ``apache-error``), or return ``None``."""
    match = _APACHE.fullmatch(text)
    if match is None:
        return None
    groups = match.groupdict()
    msg = groups["msg"] or ""
    level_word = groups["level"]
    level = "trace" if level_word.startswith("trace") else normalise_level(level_word)
    log: dict[str, Any] = {}
    if level is not None:
        log["level"] = level
    if groups["src"] is not None:
        log["origin"] = {"file": {"name": groups["src"], "line": int(groups["srcline"])}}
    fields: dict[str, Any] = {"message": msg}
    if log:
        fields["log"] = log
    if groups["module"]:
        fields["apache"] = {"error": {"module": groups["module"]}}
    if groups["pid"] is not None:
        process: dict[str, Any] = {"pid": int(groups["pid"])}
        if groups["tid"] is not None:
            process["thread"] = {"id": int(groups["tid"])}
        fields["process"] = process
    if groups["client"] is not None:
        fields["client"] = endpoint(groups["client"])
    referer = msg.rfind(_REFERER)
    if referer >= 0:
        fields["http"] = {"request": {"referrer": msg[referer + len(_REFERER) :]}}
    return Parsed("apache-error", fields, stated_time=groups["time"])


def parse_redis(text: str) -> Parsed | None:
    """Parse a Redis server log line (format ``redis``), or return ``None``."""
    match = _REDIS.fullmatch(text)
    if match is None:
        signal = _REDIS_SIGNAL.fullmatch(text)
        if signal is None:
            return None
        fields = {"message": signal.group("msg"), "process": {"pid": int(signal.group("pid"))}}
        return Parsed("redis", fields, stated_time=int(signal.group("time")))
    pid, role, old_pid, time, mark, msg = match.groups()
    fields = {"message": msg, "log": {"level": _REDIS_LEVEL[mark]}}
    if pid is not None or old_pid is not None:
        fields["process"] = {"pid": int(pid or old_pid)}
    if role is not None:
        fields["redis"] = {"log": {"role": _REDIS_ROLE[role]}}
    return Parsed("redis", fields, stated_time=time)
