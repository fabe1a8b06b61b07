"""Small helpers the plain-text format parsers share: addresses, request lines, nested fields."""

from __future__ import annotations

import re
from typing import Any, Final

from processor.parse.access import is_ip

_METHOD: Final = re.compile(r"[A-Z][A-Z0-9_-]*", re.ASCII)
_URL: Final = re.compile(
    r"(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?(?P<host>\[[^\]]*\]|[^/:\s]+)(?::(?P<port>\d{1,5}))?", re.ASCII
)


def put(fields: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``fields[a][b][c] = value`` for ``dotted`` ``"a.b.c"``, creating the objects on the way."""
    *outer, last = dotted.split(".")
    target = fields
    for name in outer:
        inner = target.get(name)
        if not isinstance(inner, dict):
            inner = target[name] = {}
        target = inner
    target[last] = value


def endpoint(text: str) -> dict[str, Any]:
    """An ECS endpoint (``client``, ``destination``) for ``ip``, ``ip:port``, ``[v6]:port`` or a name.

    ``address`` is always the text as written; ``ip`` is set when the host part is a literal IP,
    ``port`` when a port follows it (``::1:58619`` is IPv6 ``::1`` with port 58619, as Apache writes it).
    """
    out: dict[str, Any] = {"address": text}
    if is_ip(text):
        out["ip"] = text
        return out
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if port.isdigit() and port.isascii() and len(port) <= 5 and host and is_ip(host):
        out["ip"] = host
        out["port"] = int(port)
    return out


def url_endpoint(url: str) -> dict[str, Any] | None:
    """The host and port of a URL (``http://10.0.0.1:8080/x``, ``fastcgi://unix:/run/php.sock``)."""
    match = _URL.match(url)
    if match is None:
        return None
    host = match.group("host").strip("[]")
    out: dict[str, Any] = {"address": host}
    if is_ip(host):
        out["ip"] = host
    port = match.group("port")
    if port is not None:
        out["port"] = int(port)
    return out


def request_line(fields: dict[str, Any], request: str) -> None:
    """``METHOD URL [HTTP/VERSION]`` -> ``http.request.method``, ``url.original``, ``http.version``."""
    method, _, rest = request.partition(" ")
    if not rest or _METHOD.fullmatch(method) is None:
        return
    url, _, protocol = rest.rpartition(" ")
    http: dict[str, Any] = fields.setdefault("http", {})
    if url and protocol.startswith("HTTP/"):
        http["version"] = protocol[5:]
    else:
        url = rest
    http.setdefault("request", {})["method"] = method
    fields.setdefault("url", {})["original"] = url


def as_int(text: str | None) -> int | None:
    """``text`` as an int if it is a short run of ASCII digits, else ``None``."""
    if text is None or not text.isdigit() or not text.isascii() or len(text) > 18:
        return None
    return int(text)
