"""nginx and Apache access logs, combined and common (one format, ``access``).

The line is ``CLIENT IDENT USER [TIME] "REQUEST" STATUS BYTES`` and, for combined, ``"REFERRER"
"USER-AGENT"``; anything after that (nginx's ``"$http_x_forwarded_for"``, timings) is left in the
message. ``CLIENT`` may be preceded by a virtual host (Apache ``%v``, nginx ``$host``) and may be an
X-Forwarded-For list, quoted or not, as in the Elastic beats module tests.

``source.address`` follows the beats nginx pipeline: of all addresses in the client part, the first
one that is a globally routable IP, else the first one. ``source.ip`` is set only when that address
is a valid IP. A leading virtual host goes to ``destination.domain`` (``destination.ip`` if it is an
IP; a ``:port`` suffix to ``destination.port``). The values ``-`` (user, referrer, user agent, bytes)
mean "absent" and leave the field out; an unparsable request line (``-``, ``""``, binary junk) leaves
out method, URL and version.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from typing import Any, Final

from processor.parse.levels import level_from_status
from processor.parse.model import Parsed

_QUOTED: Final = r'[^"\\]*(?:\\.[^"\\]*)*'
_LINE: Final = re.compile(
    r"(?P<head>[^\[]+) \[(?P<time>\d{1,2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "
    rf'"(?P<request>{_QUOTED})" (?P<status>\d{{3}}) (?P<bytes>\d+|-)'
    rf'(?: "(?P<referrer>{_QUOTED})" "(?P<agent>{_QUOTED})")?(?: .*)?',
    re.DOTALL | re.ASCII,
)
_METHOD: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_VERSION: Final = re.compile(r"[0-9][0-9.]*")
_LIST_SPLIT: Final = re.compile(r'[\s",]+')
_PORT: Final = re.compile(r"(?P<host>[^:]+):(?P<port>\d{1,5})", re.ASCII)


def is_ip(text: str) -> bool:
    """True if ``text`` is a literal IPv4 or IPv6 address (no port, no brackets, no zone)."""
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        socket.inet_pton(family, text)
    except (OSError, ValueError):
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _is_global(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).is_global
    except ValueError:
        return False


def _pick_source(clients: str) -> str:
    """The client address: a single token, or from a forwarded-for list the first global IP."""
    addresses = [part for part in _LIST_SPLIT.split(clients) if part]
    if not addresses:
        return clients
    for address in addresses:
        if _is_global(address):
            return address
    return addresses[0]


def _split_head(head: str) -> tuple[str | None, str, str] | None:
    """``[VHOST] CLIENTS IDENT USER`` -> (vhost, source address, user), or ``None``."""
    parts = head.rsplit(" ", 2)
    if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2]:
        return None
    clients, _ident, user = parts
    if " " not in clients and "," not in clients and '"' not in clients:
        return None, clients, user
    vhost = None
    first, _, rest = clients.partition(" ")
    if rest and "," not in first and '"' not in first:
        vhost, clients = first, rest
    if " " not in clients and "," not in clients and '"' not in clients:
        return vhost, clients, user
    return vhost, _pick_source(clients), user


def _destination(vhost: str) -> dict[str, Any]:
    """ECS ``destination`` for a virtual host: ``domain`` or ``ip``, and ``port`` if it has one."""
    port = _PORT.fullmatch(vhost)
    out: dict[str, Any] = {}
    if port is not None:
        vhost = port.group("host")
        out["port"] = int(port.group("port"))
    out["ip" if is_ip(vhost) else "domain"] = vhost
    return out


def _request(fields: dict[str, Any], http: dict[str, Any], request: str) -> None:
    """``METHOD URL [HTTP/VERSION]`` -> ``http.request.method``, ``url.original``, ``http.version``."""
    method, _, url = request.partition(" ")
    if not url or url[0] == " " or _METHOD.fullmatch(method) is None:
        return
    version = None
    head, _, protocol = url.rpartition(" ")
    if head and protocol.startswith("HTTP/") and _VERSION.fullmatch(protocol, 5):
        url, version = head, protocol[5:]
    http["request"] = {"method": method}
    fields["url"] = {"original": url}
    if version:
        http["version"] = version


def parse_access(text: str) -> Parsed | None:
    """Parse an nginx/Apache combined or common access log line, or return ``None``."""
    line = _LINE.fullmatch(text)
    if line is None:
        return None
    head_text, time, request, status_text, size, referrer, agent = line.groups()
    head = _split_head(head_text)
    if head is None:
        return None
    vhost, source, user = head
    status = int(status_text)
    response: dict[str, Any] = {"status_code": status}
    http: dict[str, Any] = {"response": response}
    fields: dict[str, Any] = {
        "message": text,
        "log": {"level": level_from_status(status)},
        "source": {"address": source, "ip": source} if is_ip(source) else {"address": source},
        "http": http,
    }
    if vhost is not None:
        fields["destination"] = _destination(vhost)
    if user != "-":
        fields["user"] = {"name": user}
    _request(fields, http, request)
    if size != "-":
        response["body"] = {"bytes": int(size)}
    if referrer and referrer != "-":
        http.setdefault("request", {})["referrer"] = referrer
    if agent and agent != "-":
        fields["user_agent"] = {"original": agent}
    return Parsed("access", fields, stated_time=time)
