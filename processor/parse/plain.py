"""Plain text: the message is the line unchanged, with a level only where it is obvious.

``sniff_level`` looks at the first 100 characters only and takes the leftmost of:

- a bracketed level word in any case: ``[ERROR]``, ``[warn]``, ``<info>``, ``(Debug)``;
- a level word in capitals standing alone: ``2024-01-01 12:00:00,123 ERROR ...``,
  ``12:00:00.123 [main] WARN c.e.Foo - ...``, ``... - root - INFO - ...``;
- a level word in any case at the very start, followed by a colon: ``error: ...``, ``WARNING:root:...``,
  ``panic: ...`` (Go);
- ``level=``/``lvl=``/``severity=`` (or ``:``, optionally quoted) with a known level value;
- the klog/glog header ``E0101 12:00:00.123456 ...`` (I, W, E, F).

A word that names no known level (``[lvl=2]``, ``severity: high``) is skipped, and nothing else is
guessed: ``Exception in thread ...`` or ``Traceback ...`` get no level.
"""

from __future__ import annotations

import re
from typing import Any, Final

from processor.parse.levels import normalise_level
from processor.parse.model import Parsed

WINDOW: Final = 100

_WORDS: Final = "trace|debug|dbg|info|notice|warn|warning|error|err|crit|critical|fatal|panic|severe|alert|emerg"
_CAPS_WORDS: Final = "TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRIT|CRITICAL|FATAL|PANIC|SEVERE"
# Each pattern starts with a literal or a small class, so re skips ahead quickly on ordinary text;
# a look-behind would defeat that, so the left boundary of capitals is checked by hand.
_CAPS: Final = re.compile(rf"(?:{_CAPS_WORDS})(?![\w.-])", re.ASCII)
_BRACKET: Final = re.compile(rf"[\[(<] ?(?P<word>(?i:{_WORDS})) ?[\])>]", re.ASCII)
_COLON: Final = re.compile(rf" *(?P<word>(?i:{_WORDS})) *:", re.ASCII)
_KEY_VALUE: Final = re.compile(r"(?i:level|lvl|severity)\"? *[=:] *[\"']?(?P<word>\w+)", re.ASCII)
_KLOG: Final = re.compile(r"[IWEF]\d{4} \d\d:\d\d:\d\d", re.ASCII)
_KLOG_LEVEL: Final = {"I": "info", "W": "warn", "E": "error", "F": "fatal"}
_WORD_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _first_caps(head: str) -> tuple[int, str] | None:
    for match in _CAPS.finditer(head):
        start = match.start()
        if start == 0 or head[start - 1] not in _WORD_CHARS:
            level = normalise_level(match.group())
            if level is not None:
                return start, level
    return None


def _first_word(pattern: re.Pattern[str], head: str) -> tuple[int, str] | None:
    for match in pattern.finditer(head):
        level = normalise_level(match.group("word"))
        if level is not None:
            return match.start(), level
    return None


def sniff_level(text: str) -> str | None:
    """The level an unstructured line obviously states near its start, or ``None``."""
    head = text[:WINDOW]
    if not head:
        return None
    if head[0] in _KLOG_LEVEL and _KLOG.match(head) is not None:
        return _KLOG_LEVEL[head[0]]
    colon = _COLON.match(head)
    if colon is not None:
        return normalise_level(colon.group("word"))
    found: list[tuple[int, str]] = []
    if not head.islower():
        caps = _first_caps(head)
        if caps is not None:
            found.append(caps)
    if "[" in head or "(" in head or "<" in head:
        bracket = _first_word(_BRACKET, head)
        if bracket is not None:
            found.append(bracket)
    lower = head.lower()
    if "lev" in lower or "lvl" in lower or "sev" in lower:
        key_value = _first_word(_KEY_VALUE, head)
        if key_value is not None:
            found.append(key_value)
    return min(found)[1] if found else None


def parse_plain(text: str) -> Parsed:
    """Plain text (format ``plain``): ``message`` is ``text`` unchanged, plus a sniffed level."""
    fields: dict[str, Any] = {"message": text}
    level = sniff_level(text)
    if level is not None:
        fields["log"] = {"level": level}
    return Parsed("plain", fields)
