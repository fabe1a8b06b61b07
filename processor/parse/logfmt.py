"""logfmt lines (``level=info msg="hello world" key=value``), mapped onto ECS like JSON.

The accepted grammar is deliberately strict, so that prose with an ``=`` in it stays plain text:
the line starts with ``key=`` (no leading blanks), consists only of ``key=value`` pairs separated by
blanks, and has at least two pairs. Keys are ``[A-Za-z_@][A-Za-z0-9_.@/-]*``. A value is empty, a
double-quoted string with backslash escapes (``\\"``, ``\\\\``, ``\\n``, ``\\t``, ``\\r``,
``\\uXXXX``; other escapes are kept as written), or a run of non-blank characters that does not start
with a quote. Bare keys without ``=`` (allowed by go-logfmt) make the line plain text. When a key
repeats, the first value is kept.
"""

from __future__ import annotations

import re
from typing import Final

from processor.parse.ecs import map_object
from processor.parse.model import Parsed

_KEY: Final = r"[A-Za-z_@][\w.@/-]*"
_VALUE: Final = r'"[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]\S*|'
_PAIR: Final = re.compile(rf"({_KEY})=({_VALUE})", re.ASCII)
_LINE: Final = re.compile(rf"(?:{_KEY}=(?:{_VALUE})(?:[ \t]+|\Z))+", re.ASCII)
_ESCAPE: Final = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_SIMPLE_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unescape_one(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) == 5:
        return chr(int(code[1:], 16))
    return _SIMPLE_ESCAPES.get(code, match.group(0))


def unquote(value: str) -> str:
    """The text of one logfmt value: quotes removed and escapes decoded if it was quoted."""
    if len(value) < 2 or value[0] != '"':
        return value
    inner = value[1:-1]
    if "\\" not in inner:
        return inner
    return _ESCAPE.sub(_unescape_one, inner)


def decode_logfmt(text: str) -> dict[str, str] | None:
    """Decode a logfmt line into its pairs, or ``None`` if it is not logfmt (see the module doc)."""
    if _LINE.fullmatch(text) is None:
        return None
    pairs = _PAIR.findall(text)
    if len(pairs) < 2:
        return None
    decoded: dict[str, str] = {}
    for key, value in pairs:
        if key not in decoded:
            decoded[key] = unquote(value)
    return decoded


def parse_logfmt(text: str) -> Parsed | None:
    """Parse a logfmt line into ECS fields (format ``logfmt``), or return ``None``."""
    decoded = decode_logfmt(text)
    if decoded is None:
        return None
    fields, stated_time, has_message = map_object(decoded, text)
    return Parsed("logfmt", fields, stated_time=stated_time, has_message=has_message)
