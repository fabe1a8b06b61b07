"""Plain text: the message is the line unchanged, with a level only where it is obvious.

``sniff_level`` looks at the first 100 characters and takes the leftmost of:

- a bracketed level word in any case, padded or not: ``[ERROR]``, ``[warn]``, ``<info>``, ``(Debug)``,
  ``[info     ]`` (structlog), ``[  ERROR]``;
- a level word in capitals standing alone: ``2024-01-01 12:00:00,123 ERROR ...``,
  ``12:00:00.123 [main] WARN c.e.Foo - ...``, ``... - root - INFO - ...``;
- a capitalised level word (``Info``, ``Warning``, ``Error``) set apart as a header field: followed by a
  colon, a tab, a ``|``, a ``]`` or two blanks, or standing right after a time or a bracket
  (``12:00:00 Warning disk full``); at the very start of a line only with a colon (``Error handling
  request`` is prose);
- a level word in any case at the very start, followed by a colon: ``error: ...``, ``WARNING:root:...``,
  ``panic: ...`` (Go);
- ``level=``/``lvl=``/``severity=`` (or ``:``, optionally quoted) with a known level value;
- the PostgreSQL severities ``LOG:``, ``DETAIL:``, ``HINT:``, ``STATEMENT:`` ... followed by two blanks,
  as its server log writes them (``LOG`` and the secondary lines are ``info``: the lines that belong to
  an error are joined to it by the shipper);
- the klog/glog header ``E0101 12:00:00.123456 ...`` (I, W, E, F).

When the first 100 characters hold none, the rest of the line (up to 1024 characters) is searched for
the clear forms only: bracketed words, ``level=`` pairs and capitals standing alone.

A word that names no known level (``[lvl=2]``, ``severity: high``) is skipped, and nothing else is
guessed: ``Exception in thread ...`` or ``Traceback ...`` get no level.
"""

from __future__ import annotations

import re
from typing import Any, Final

from processor.parse.levels import normalise_level
from processor.parse.model import Parsed

WINDOW: Final = 100
FAR_WINDOW: Final = 1024

_WORDS: Final = (
    "trace|debug|dbg|info|information|notice|warn|warning|error|err|crit|critical|fatal|panic|severe|alert|emerg"
)
_CAPS_WORDS: Final = "TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRIT|CRITICAL|FATAL|PANIC|SEVERE"
_TITLE_WORDS: Final = "Trace|Debug|Information|Info|Notice|Warning|Warn|Error|Err|Critical|Crit|Fatal|Panic|Severe"
# Each pattern starts with a literal or a small class, so re skips ahead quickly on ordinary text;
# a look-behind would defeat that, so the left boundary of words is checked by hand.
_CAPS: Final = re.compile(rf"(?:{_CAPS_WORDS})(?![\w.-])", re.ASCII)
_TITLE: Final = re.compile(rf"(?:{_TITLE_WORDS})(?=[:\t\]| ])", re.ASCII)
_BRACKET: Final = re.compile(rf"[\[(<] *(?P<word>(?i:{_WORDS})) *[\])>]", re.ASCII)
_COLON: Final = re.compile(rf" *(?P<word>(?i:{_WORDS})) *:", re.ASCII)
_KEY_VALUE: Final = re.compile(r"(?i:level|lvl|severity)\"? *[=:] *[\"']?(?P<word>\w+)", re.ASCII)
_POSTGRES: Final = re.compile(r"(?:LOG|DETAIL|HINT|STATEMENT|CONTEXT|QUERY|LOCATION|DEBUG[1-5]):  ", re.ASCII)
_KLOG: Final = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d\d", re.ASCII)
_KLOG_LEVEL: Final = {"I": "info", "W": "warn", "E": "error", "F": "fatal"}
_WORD_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _after_time(head: str, blank: int) -> bool:
    """Whether the token that ends just before ``head[blank]`` is a time or a bracketed field."""
    token = head[head.rfind(" ", 0, blank) + 1 : blank]
    if not token:
        return False
    last = token[-1]
    return last in "])" or ((last.isdigit() or last == "Z") and ":" in token)


def _first_caps(head: str, offset: int = 0) -> tuple[int, str] | None:
    for match in _CAPS.finditer(head, offset):
        start = match.start()
        if start == 0 or head[start - 1] not in _WORD_CHARS:
            level = normalise_level(match.group())
            if level is not None:
                return start, level
    return None


def _first_title(head: str) -> tuple[int, str] | None:
    """A capitalised level word that stands apart as a header field (see the module doc)."""
    for match in _TITLE.finditer(head):
        start, end = match.span()
        before = head[start - 1] if start else ""
        if before in _WORD_CHARS and before:
            continue
        after = head[end : end + 2]
        if after[:1] in (":", "\t", "]", "|") or after in ("  ", " |"):
            if start or after[:1] == ":":
                return start, normalise_level(match.group()) or "info"
        elif before == " " and _after_time(head, start - 1):
            return start, normalise_level(match.group()) or "info"
    return None


def _first_word(pattern: re.Pattern[str], head: str, offset: int = 0) -> tuple[int, str] | None:
    for match in pattern.finditer(head, offset):
        level = normalise_level(match.group("word"))
        if level is not None:
            return match.start(), level
    return None


def _near(head: str) -> tuple[int, str] | None:
    """The leftmost level token of the first ``WINDOW`` characters, by every rule."""
    found: list[tuple[int, str]] = []
    if not head.islower():
        caps = _first_caps(head)
        if caps is not None:
            found.append(caps)
        title = _first_title(head)
        if title is not None:
            found.append(title)
        if ":  " in head:
            postgres = _POSTGRES.search(head)
            if postgres is not None:
                word = postgres.group()
                found.append((postgres.start(), "debug" if word.startswith("DEBUG") else "info"))
    if "[" in head or "(" in head or "<" in head:
        bracket = _first_word(_BRACKET, head)
        if bracket is not None:
            found.append(bracket)
    lower = head.lower()
    if "lev" in lower or "lvl" in lower or "sev" in lower:
        key_value = _first_word(_KEY_VALUE, head)
        if key_value is not None:
            found.append(key_value)
    return min(found) if found else None


def _far(text: str) -> str | None:
    """Past the first ``WINDOW`` characters: the leftmost clear level token up to ``FAR_WINDOW``."""
    start = WINDOW - 16  # a token cut by the window edge is seen whole
    tail = text[:FAR_WINDOW]
    found: list[tuple[int, str]] = []
    caps = _first_caps(tail, start)
    if caps is not None:
        found.append(caps)
    bracket = _first_word(_BRACKET, tail, start)
    if bracket is not None:
        found.append(bracket)
    key_value = _first_word(_KEY_VALUE, tail, start)
    if key_value is not None:
        found.append(key_value)
    return min(found)[1] if found else None


def sniff_level(text: str) -> str | None:
    """The level an unstructured line obviously states, or ``None`` (see the module doc)."""
    head = text[:WINDOW]
    if not head:
        return None
    if head[0] in _KLOG_LEVEL and _KLOG.match(head) is not None:
        return _KLOG_LEVEL[head[0]]
    colon = _COLON.match(head)
    if colon is not None:
        return normalise_level(colon.group("word"))
    near = _near(head)
    if near is not None:
        return near[1]
    if len(text) > WINDOW:
        return _far(text)
    return None


def parse_plain(text: str) -> Parsed:
    """Plain text (format ``plain``): ``message`` is ``text`` unchanged, plus a sniffed level."""
    fields: dict[str, Any] = {"message": text}
    level = sniff_level(text)
    if level is not None:
        fields["log"] = {"level": level}
    return Parsed("plain", fields)
