"""Line parsers: detect the format of one log line and turn it into ECS-shaped fields.

``parse_line`` is the single entry point; it never raises, whatever the input. Detection looks at
the first character and a few fixed positions before any regex runs, so each line tries at most
one or two parsers and plain text pays for none but the level sniffer:

1. ``{`` (also after leading blanks): JSON object (``json``), else plain.
2. ``<``: syslog with PRI, RFC 5424 (``syslog-5424``) when ``1 `` follows, else RFC 3164
   (``syslog-3164``); else plain.
3. other leading blank, or empty: plain.
4. ``key=`` as the first token: logfmt (``logfmt``).
5. ``] "`` within the first 1024 characters: nginx/Apache access log (``access``).
6. ``Mmm `` (a month) at the start: BSD syslog without PRI (``syslog-3164``).
7. ``dddd-dd-ddT`` at the start: syslog with an ISO 8601 timestamp and a ``TAG:`` (``syslog-3164``).
8. everything else, and every line a parser above turned down: plain text (``plain``).

A trailing ``\r``/``\n`` is ignored by the structured parsers; plain text keeps it in ``message``.
"""

from __future__ import annotations

from processor.parse.access import parse_access
from processor.parse.jsonline import parse_json
from processor.parse.logfmt import parse_logfmt
from processor.parse.model import Parsed
from processor.parse.plain import parse_plain
from processor.parse.syslog import MONTHS, parse_rfc3164, parse_syslog

__all__ = ["Parsed", "parse_line"]

_ACCESS_WINDOW = 1024
_LOGFMT_KEY_WINDOW = 128


def _detect(text: str) -> Parsed:
    if text and text[-1] in "\r\n":  # a line end left on (TTY streams end lines with \r\n)
        without_end = _detect(text.rstrip("\r\n"))
        if without_end.format == "plain":
            without_end.fields["message"] = text
        return without_end
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


def parse_line(text: str) -> Parsed:
    """Detect and parse one log line (without its line ending); never raises.

    Returns the detected format (``json``, ``logfmt``, ``access``, ``syslog-3164``, ``syslog-5424`` or
    ``plain``), ECS-shaped ``fields`` (always with a str ``message``; a new dict on every call, so the
    caller may change it) and, for JSON objects, the decoded ``document``.
    """
    try:
        return _detect(text)
    except Exception:  # a parser bug must not lose the line: keep it as plain text
        return Parsed("plain", {"message": text if isinstance(text, str) else str(text)})
