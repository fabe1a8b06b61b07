"""Syslog lines: RFC 5424 (``syslog-5424``) and BSD/RFC 3164 (``syslog-3164``).

- RFC 5424: ``<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD]... MSG``; ``-`` is the nil value and leaves
  the field out; a leading BOM of MSG is dropped. Structured data becomes
  ``log.syslog.structured_data`` as ``{sd-id: {name: value}}``.
- RFC 3164: ``[<PRI>]Mmm dd hh:mm:ss [HOST] TAG[PID]: MSG``; the timestamp may also be ISO 8601
  (``2020-12-25T23:59:59+02:00 host prog[pid]: msg``, as rsyslog writes with RFC 3339 dates).
  With a PRI or a BSD timestamp a line without ``TAG:`` still counts (``<13>text``,
  ``Apr 4 03:39:57 --- last message repeated 1 time ---``), the rest being the message; with both a
  PRI and a timestamp the first word of the rest is HOSTNAME, which RFC 3164 requires there. An ISO
  timestamp without a PRI needs ``HOST TAG:`` or ``TAG:``, since many plain logs start with one. A
  HOST or TAG that is a level word (``2024-01-01T00:00:00Z INFO main: ...``) means the line is not
  syslog.

The level comes from the PRI severity; without a PRI it is sniffed from the message like plain text.
"""

from __future__ import annotations

import re
from typing import Any, Final

from processor.parse.levels import is_level_word, level_from_severity
from processor.parse.model import Parsed
from processor.parse.plain import sniff_level

MONTHS: Final = frozenset({"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"})

_PRI: Final = r"<(?P<pri>\d{1,3})>"
_BSD_TIME: Final = r"[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)?"
_ISO_TIME: Final = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
_TAGGED: Final = re.compile(
    rf"(?:{_PRI})?(?P<ts>{_BSD_TIME}|{_ISO_TIME}) (?:(?P<host>[^\s\[\]:]+) )?"
    r"(?P<tag>[^\s\[\]:]+)(?:\[(?P<pid>\d+)\])?: ?(?P<msg>.*)",
    re.DOTALL | re.ASCII,
)
_UNTAGGED: Final = re.compile(
    rf"(?:{_PRI})?(?:(?P<ts>{_BSD_TIME}|{_ISO_TIME})(?: |$))?(?P<msg>.*)", re.DOTALL | re.ASCII
)
_HOSTNAME: Final = re.compile(r"[^\s\[\]:]+")
_SD_ELEMENT: Final = r'\[[^\]"\\]*(?:(?:"[^"\\]*(?:\\.[^"\\]*)*"|\\.)[^\]"\\]*)*\]'
_RFC5424: Final = re.compile(
    rf"{_PRI}1 (?P<ts>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+) (?P<msgid>\S+) "
    rf"(?P<sd>-|(?:{_SD_ELEMENT})+)(?: (?P<msg>.*))?",
    re.DOTALL | re.ASCII,
)
_SD_PARTS: Final = re.compile(r'\[(?P<id>[^\s\]"=]+)(?P<params>(?: +[^\s=\]"]+="[^"\\]*(?:\\.[^"\\]*)*")*) *\]')
_SD_PARAM: Final = re.compile(r'(?P<name>[^\s=\]"]+)="(?P<value>[^"\\]*(?:\\.[^"\\]*)*)"', re.DOTALL)
_SD_ESCAPE: Final = re.compile(r'\\(["\\\]])')


def _priority(fields: dict[str, Any], pri: str | None, message: str) -> bool:
    """Set ``log.level`` and ``log.syslog`` from PRI (or sniff the message); False if PRI > 191."""
    if pri is None:
        level = sniff_level(message)
        if level is not None:
            fields["log"] = {"level": level}
        return True
    code = int(pri)
    if code > 191:
        return False
    fields["log"] = {
        "level": level_from_severity(code & 7),
        "syslog": {"facility": {"code": code >> 3}, "severity": {"code": code & 7}},
    }
    return True


def _structured_data(sd: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for element in _SD_PARTS.finditer(sd):
        params = out.setdefault(element.group("id"), {})
        for param in _SD_PARAM.finditer(element.group("params")):
            value = param.group("value")
            params[param.group("name")] = _SD_ESCAPE.sub(r"\1", value) if "\\" in value else value
    return out


def parse_rfc5424(text: str) -> Parsed | None:
    """Parse an RFC 5424 line (``<PRI>1 ...``), or return ``None``."""
    match = _RFC5424.fullmatch(text)
    if match is None:
        return None
    message = match.group("msg") or ""
    if message.startswith("\ufeff"):
        message = message[1:]
    fields: dict[str, Any] = {"message": message}
    if not _priority(fields, match.group("pri"), message):
        return None
    syslog: dict[str, Any] = fields["log"]["syslog"]
    syslog["version"] = "1"
    ts, host, app, procid, msgid = match.group("ts", "host", "app", "procid", "msgid")
    if host != "-":
        fields["host"] = {"hostname": host}
    process: dict[str, Any] = {}
    if app != "-":
        process["name"] = app
    if procid.isdigit() and procid.isascii():
        process["pid"] = int(procid)
    elif procid != "-":
        syslog["procid"] = procid
    if process:
        fields["process"] = process
    if msgid != "-":
        syslog["msgid"] = msgid
    sd = match.group("sd")
    if sd != "-":
        syslog["structured_data"] = _structured_data(sd)
    return Parsed("syslog-5424", fields, stated_time=None if ts == "-" else ts)


def _untagged_host(message: str) -> tuple[str | None, str]:
    """RFC 3164 requires HOSTNAME after TIMESTAMP even when MSG has no TAG: split it off."""
    host, _, rest = message.partition(" ")
    if _HOSTNAME.fullmatch(host) is None:
        return None, message
    return host, rest


def parse_rfc3164(text: str, *, require_tag: bool) -> Parsed | None:
    """Parse a BSD syslog line, or return ``None``.

    With ``require_tag`` (for lines that start with an ISO 8601 timestamp and have no PRI) only
    ``TS [HOST] TAG[PID]: MSG`` counts; without it ``[<PRI>][TS ]MSG`` is the fallback.
    """
    match = _TAGGED.fullmatch(text)
    if match is not None:
        host, tag = match.group("host", "tag")
        if match.group("pri") is None and (is_level_word(tag) or (host is not None and is_level_word(host))):
            match = None
    tagged = match is not None
    if match is None:
        if require_tag:
            return None
        match = _UNTAGGED.fullmatch(text)
        if match is None or (match.group("pri") is None and match.group("ts") is None):
            return None
    groups = match.groupdict()
    message = groups["msg"]
    host = groups.get("host")
    if not tagged and groups["pri"] is not None and groups["ts"] is not None:
        host, message = _untagged_host(message)
    fields: dict[str, Any] = {"message": message}
    if not _priority(fields, groups["pri"], message):
        return None
    if host is not None:
        fields["host"] = {"hostname": host}
    tag = groups.get("tag")
    if tag is not None:
        pid = groups.get("pid")
        fields["process"] = {"name": tag} if pid is None else {"name": tag, "pid": int(pid)}
    return Parsed("syslog-3164", fields, stated_time=groups["ts"])


def parse_syslog(text: str) -> Parsed | None:
    """Parse a line that starts with ``<``: RFC 5424 if the version ``1`` follows PRI, else RFC 3164."""
    end = text.find(">", 1, 5)
    if end > 0 and text.startswith("1 ", end + 1):
        parsed = parse_rfc5424(text)
        if parsed is not None:
            return parsed
    return parse_rfc3164(text, require_tag=False)
