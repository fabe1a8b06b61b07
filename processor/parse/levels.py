"""Log level normalisation: every parser reports ``log.level`` as one of six lower-case words.

The closed set is ``trace``, ``debug``, ``info``, ``warn``, ``error``, ``fatal``. Words and numbers
that do not map onto it give ``None``; callers then leave ``log.level`` unset and keep the raw value.
"""

from __future__ import annotations

from typing import Any, Final

LEVELS: Final = ("trace", "debug", "info", "warn", "error", "fatal")

# Lower-case spellings seen in the wild -> the closed set.
_WORDS: Final[dict[str, str]] = {
    "trace": "trace",
    "trc": "trace",
    "finest": "trace",
    "finer": "trace",
    "debug": "debug",
    "dbg": "debug",
    "fine": "debug",
    "verbose": "debug",
    "info": "info",
    "inf": "info",
    "information": "info",
    "informational": "info",
    "notice": "info",
    "config": "info",
    "warn": "warn",
    "warning": "warn",
    "wrn": "warn",
    "error": "error",
    "err": "error",
    "eror": "error",
    "severe": "error",
    "fatal": "fatal",
    "ftl": "fatal",
    "critical": "fatal",
    "crit": "fatal",
    "emerg": "fatal",
    "emergency": "fatal",
    "alert": "fatal",
    "panic": "fatal",
    "dpanic": "fatal",
}

# Syslog severity 0..7 (RFC 5424 table 2) -> the closed set.
_SEVERITY: Final = ("fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug")


def normalise_level(value: Any) -> str | None:
    """Map a level word or a pino/bunyan number (10..69) onto the closed set, or ``None``.

    Words are matched case-insensitively after trimming (``WARNING`` -> ``warn``, ``err`` -> ``error``,
    ``critical``/``crit``/``emerg``/``alert``/``panic`` -> ``fatal``). Numbers, and strings of digits,
    are pino/bunyan levels: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal, each covering
    its decade. Booleans, other numbers and other words give ``None``.
    """
    if isinstance(value, str):
        if len(value) > 16:
            return None
        word = value.strip().lower()
        found = _WORDS.get(word)
        if found is not None or not word.isdigit() or not word.isascii():
            return found
        number = int(word)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        return None
    if 10 <= number < 70:
        return LEVELS[number // 10 - 1]
    return None


def level_from_severity(severity: int) -> str:
    """The level for a syslog severity code 0..7 (emerg/alert/crit -> fatal, notice -> info)."""
    return _SEVERITY[severity & 7]


def level_from_status(status: int) -> str:
    """The level for an HTTP status code: ``error`` for 5xx, ``warn`` for 4xx, ``info`` otherwise."""
    if status >= 500:
        return "error"
    if status >= 400:
        return "warn"
    return "info"


def is_level_word(word: str) -> bool:
    """True if ``word`` is one of the level spellings ``normalise_level`` knows (any case)."""
    return word.lower() in _WORDS
