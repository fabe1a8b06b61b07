"""The time a log line states for itself, as nanoseconds since the epoch.

:func:`stated_time_ns` reads the time value a parser found in a line (``Parsed.stated_time``: the
text as written, or the number a JSON logger wrote) and keeps its precision down to the nanosecond.
It understands:

- RFC 3339 / ISO 8601: ``2026-12-03T05:54:01.123456789Z``, with or without a fraction (any number of
  digits, cut after nine), a space instead of ``T``, a comma instead of the dot
  (``2026-12-03 05:54:01,123``, Java and Python), and a zone written ``Z``, ``+01:00``, ``+0100``,
  ``+01``, ``UTC`` or ``GMT``, or not at all (then UTC); Go's ``time.String()`` form
  (``2026-12-03 05:54:01.5 -0400 EDT``, the abbreviation ignored); PostgreSQL's
  ``2026-12-03 05:54:01.123 UTC``;
- epoch seconds, milliseconds, microseconds or nanoseconds, as numbers or digit strings, with or
  without a fraction (pino, bunyan, zap, GELF); the unit is chosen by magnitude: below 1e11 seconds
  (up to the year 5138), below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds;
- access logs ``03/Dec/2026:05:54:01 +0000``; nginx error and Go ``log`` ``2026/12/03 05:54:01``
  (optionally ``.123456``); redis ``03 Dec 2026 05:54:01.123``; ctime as in Apache's error log
  ``Wed Dec 03 05:54:01.123456 2026``;
- formats without a year, which take the year that puts the time closest to ``reference_ns``: BSD
  syslog ``Dec  3 05:54:01``, klog/glog ``1203 05:54:01.123456`` (also with its level letter,
  ``I1203 ...``), Android logcat ``12-03 05:54:01.123``.

Times without a zone are taken as UTC (containers run in UTC unless told otherwise). Anything else,
a day that does not exist (February 30), or a zone name other than UTC/GMT without an offset gives
``None``. Times before 1970 or after 2262 are read too (negative, or beyond what ``date_nanos`` stores):
:func:`rejection` then decides whether the processor may use a time as the event's ``@timestamp``
or must keep Docker's (see ``processor/events.py``), and a time it accepts is never more than a few
weeks from Docker's.
"""

from __future__ import annotations

import calendar
import re
import time
from typing import Any, Final

NS: Final = 1_000_000_000

# Why a stated time was not used as @timestamp (the values of logfleet.timestamp_rejected).
UNPARSABLE: Final = "unparsable"
IN_FUTURE: Final = "in_future"
TOO_OLD: Final = "too_old"
REJECTIONS: Final = (UNPARSABLE, IN_FUTURE, TOO_OLD)

MONTHS: Final[dict[str, int]] = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
_WEEKDAYS: Final = frozenset({"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"})
_SCALE: Final[tuple[int, ...]] = tuple(10 ** (9 - digits) for digits in range(10))
_UTC_NAMES: Final = frozenset({"Z", "z", "UTC", "GMT"})
_ISO_SEPARATORS: Final = frozenset({"T", " ", "t"})
_HALF_YEAR_NS: Final = 182 * 86_400 * NS
_DAY_NS: Final = 86_400 * NS

# What may follow "YYYY-MM-DDTHH:MM:SS": a fraction, then a zone (numeric offset, maybe followed by an
# abbreviation as Go writes it, or a UTC name), each optional and maybe after one space.
_ISO_TAIL: Final = re.compile(
    r"(?:[.,](?P<frac>[0-9]+))?"
    r"(?: ?(?:(?P<utc>Z|z|UTC|GMT)|(?P<sign>[+-])(?P<oh>[0-9]{2})(?::?(?P<om>[0-9]{2}))?(?: [A-Z]{2,5})?))?"
)
_EPOCH_TEXT: Final = re.compile(r"[0-9]{1,20}(?:\.[0-9]+)?")
_HMS: Final = r"(?P<H>[0-9]{2}):(?P<M>[0-9]{2}):(?P<S>[0-9]{2})(?:[.,](?P<frac>[0-9]+))?"
_MON: Final = r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_ACCESS: Final = re.compile(
    rf"(?P<d>[0-9]{{2}})/{_MON}/(?P<y>[0-9]{{4}}):{_HMS}(?: (?P<sign>[+-])(?P<oh>[0-9]{{2}})(?P<om>[0-9]{{2}}))?"
)
_SLASHED: Final = re.compile(rf"(?P<y>[0-9]{{4}})/(?P<m>[0-9]{{2}})/(?P<d>[0-9]{{2}}) {_HMS}")
_REDIS: Final = re.compile(rf"(?P<d>[0-9]{{2}}) {_MON} (?P<y>[0-9]{{4}}) {_HMS}")
_CTIME: Final = re.compile(rf"[A-Z][a-z]{{2}} {_MON} {{1,2}}(?P<d>[0-9]{{1,2}}) {_HMS} (?P<y>[0-9]{{4}})")
_SYSLOG: Final = re.compile(rf"{_MON} {{1,2}}(?P<d>[0-9]{{1,2}}) {_HMS}")
_KLOG: Final = re.compile(rf"[IWEF]?(?P<m>[0-9]{{2}})(?P<d>[0-9]{{2}}) {_HMS}")
_LOGCAT: Final = re.compile(rf"(?P<m>[0-9]{{2}})-(?P<d>[0-9]{{2}}) {_HMS}")

_iso_seconds_cache: dict[str, int] = {}
_text_cache: dict[str, int | None] = {}
_yearless_cache: dict[tuple[str, int], int | None] = {}
_MISSING: Final[object] = object()


def _epoch_seconds(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int | None:
    """UTC epoch seconds of a calendar time, or None if the day or the time of day does not exist."""
    if not (1 <= month <= 12 and day >= 1 and hour < 24 and minute < 60 and second < 60 and year >= 1):
        return None
    if day > calendar.monthrange(year, month)[1]:
        return None
    return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))


def _iso_seconds(head: str) -> int | None:
    """``YYYY-MM-DD?HH:MM:SS`` as UTC epoch seconds, or None if it is not one."""
    if not (
        head[7] == "-"
        and head[13] == ":"
        and head[16] == ":"
        and (head[:4] + head[5:7] + head[8:10] + head[11:13] + head[14:16] + head[17:19]).isdigit()
        and head.isascii()
    ):
        return None
    seconds = _epoch_seconds(
        int(head[:4]), int(head[5:7]), int(head[8:10]), int(head[11:13]), int(head[14:16]), int(head[17:19])
    )
    if seconds is not None:  # consecutive lines share their second: remember it
        if len(_iso_seconds_cache) > 4096:
            _iso_seconds_cache.clear()
        _iso_seconds_cache[head] = seconds
    return seconds


def _fraction_ns(digits: str | None) -> int:
    """A fraction of a second written as digits, in nanoseconds (cut after nine digits)."""
    if not digits:
        return 0
    digits = digits[:9]
    return int(digits) * _SCALE[len(digits)]


def _offset_seconds(sign: str | None, hours: str | None, minutes: str | None) -> int | None:
    """A numeric UTC offset in seconds east of UTC (0 when there is none), or None if out of range."""
    if sign is None or hours is None:
        return 0
    h, m = int(hours), int(minutes or 0)
    if h > 23 or m > 59:
        return None
    offset = h * 3600 + m * 60
    return -offset if sign == "-" else offset


def _iso(value: str) -> int | None:
    seconds = _iso_seconds_cache.get(value[:19])
    if seconds is None:
        seconds = _iso_seconds(value[:19])
        if seconds is None:
            return None
    tail = value[19:]
    if not tail or tail in _UTC_NAMES:
        return seconds * NS
    if tail[0] in ".,":  # the usual cases, without the regex: a bare fraction, or one and Z
        digits = tail[1:-1] if tail[-1] == "Z" else tail[1:]
        if digits.isdigit() and digits.isascii():
            return seconds * NS + _fraction_ns(digits)
    match = _ISO_TAIL.fullmatch(tail)
    if match is None:
        return None
    offset = _offset_seconds(match["sign"], match["oh"], match["om"])
    if offset is None:
        return None
    return (seconds - offset) * NS + _fraction_ns(match["frac"])


def _epoch(whole: int, fraction: str = "") -> int | None:
    """Epoch seconds, milliseconds, microseconds or nanoseconds (by magnitude) in nanoseconds."""
    if whole < 100_000_000_000:
        unit, digits = NS, 9
    elif whole < 100_000_000_000_000:
        unit, digits = 1_000_000, 6
    elif whole < 100_000_000_000_000_000:
        unit, digits = 1_000, 3
    else:
        unit, digits = 1, 0
    part = fraction[:digits]
    return whole * unit + (int(part) * 10 ** (digits - len(part)) if part else 0)


def _number(value: int | float) -> int | None:
    if isinstance(value, int):
        return _epoch(value) if value > 0 else None
    if not 0 < value < 1e30:  # NaN, negative, zero, infinity, nonsense
        return None
    if value >= 1e16:  # beyond a float's exact digits anyway
        return _epoch(int(value))
    whole, _, fraction = repr(value).partition(".")  # repr is exact and has no exponent below 1e16
    return _epoch(int(whole), fraction) if whole.isdigit() else None


def _calendar(match: re.Match[str], year: int, month: int, offset: int = 0) -> int | None:
    seconds = _epoch_seconds(year, month, int(match["d"]), int(match["H"]), int(match["M"]), int(match["S"]))
    if seconds is None:
        return None
    return (seconds - offset) * NS + _fraction_ns(match["frac"])


def _yearless(match: re.Match[str], month: int, reference_ns: int) -> int | None:
    """A time without a year, in the year that puts it closest to the reference (its own, or one off)."""
    year = time.gmtime(reference_ns // NS).tm_year
    stated = _calendar(match, year, month)
    if stated is None:  # February 29 in another year than a leap year
        candidates = [_calendar(match, year - 1, month), _calendar(match, year + 1, month)]
    elif abs(stated - reference_ns) <= _HALF_YEAR_NS:
        return stated
    else:
        candidates = [stated, _calendar(match, year + (1 if stated < reference_ns else -1), month)]
    found = [ns for ns in candidates if ns is not None]
    return min(found, key=lambda ns: abs(ns - reference_ns)) if found else None


def _text(value: str, reference_ns: int) -> int | None:
    """Text other than plain ISO 8601, remembered (access logs and syslog repeat the same second line
    after line); a reading that depends on the reference (no year) is remembered for that day only."""
    cached = _text_cache.get(value, _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    key = (value, reference_ns // _DAY_NS)
    cached = _yearless_cache.get(key, _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    ns, fixed = _read_text(value, reference_ns)
    if fixed:
        _remember(_text_cache, value, ns)
    else:
        _remember(_yearless_cache, key, ns)
    return ns


def _remember(cache: dict[Any, int | None], key: Any, ns: int | None) -> None:
    if len(cache) > 4096:
        cache.clear()
    cache[key] = ns


def _read_text(value: str, reference_ns: int) -> tuple[int | None, bool]:
    """Epoch digits, ISO 8601 in blanks or another format by its shape; and whether the result is the
    same whatever the reference (False for the formats without a year)."""
    if len(value) >= 19 and value[4:5] == "-" and value[10:11] in _ISO_SEPARATORS:
        return _iso(value), True
    if _EPOCH_TEXT.fullmatch(value) is not None:
        whole, _, fraction = value.partition(".")
        return (_epoch(int(whole), fraction) if int(whole) > 0 else None), True
    if len(value) < 8 or not value.isascii():
        return None, True
    head = value[:3]
    if head in MONTHS:
        match = _SYSLOG.fullmatch(value)
        return (None if match is None else _yearless(match, MONTHS[match["mon"]], reference_ns)), False
    if head in _WEEKDAYS:
        match = _CTIME.fullmatch(value)
        return (None if match is None else _calendar(match, int(match["y"]), MONTHS[match["mon"]])), True
    if value[2:3] == "/":
        match = _ACCESS.fullmatch(value)
        offset = None if match is None else _offset_seconds(match["sign"], match["oh"], match["om"])
        if match is None or offset is None:
            return None, True
        return _calendar(match, int(match["y"]), MONTHS[match["mon"]], offset), True
    if value[4:5] == "/":
        match = _SLASHED.fullmatch(value)
        return (None if match is None else _calendar(match, int(match["y"]), int(match["m"]))), True
    if value[2:3] == " ":
        match = _REDIS.fullmatch(value)
        return (None if match is None else _calendar(match, int(match["y"]), MONTHS[match["mon"]])), True
    if value[2:3] == "-":
        match = _LOGCAT.fullmatch(value)
        return (None if match is None else _yearless(match, int(match["m"]), reference_ns)), False
    match = _KLOG.fullmatch(value)
    return (None if match is None else _yearless(match, int(match["m"]), reference_ns)), False


def stated_time_ns(value: str | int | float, reference_ns: int) -> int | None:
    """The time a line states (``value`` as the parser found it) in nanoseconds since the epoch, or None.

    ``reference_ns`` (Docker's receive time of the line) picks the year of formats that have none.
    Never raises; see the module docstring for the formats.
    """
    if type(value) is str:
        if value[-1:] == "Z" and value[19:20] == ".":  # the usual case first: a known second, .fraction, Z
            seconds = _iso_seconds_cache.get(value[:19])
            digits = value[20:-1]
            if seconds is not None and 0 < len(digits) <= 9 and digits.isdigit() and digits.isascii():
                return seconds * NS + int(digits) * _SCALE[len(digits)]
        if value[4:5] == "-" and len(value) >= 19 and value[10:11] in _ISO_SEPARATORS:
            return _iso(value)
        return _text(value.strip(), reference_ns)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return _number(value)


def rejection(stated_ns: int | None, reference_ns: int, max_future_ns: int, max_past_ns: int) -> str | None:
    """Why a stated time must not become ``@timestamp`` (one of :data:`REJECTIONS`), or None to use it.

    ``None`` as ``stated_ns`` (a time the line states but that could not be read) is ``unparsable``;
    more than ``max_future_ns`` ahead of Docker's time is ``in_future`` (a wrong clock or zone); more
    than ``max_past_ns`` behind it is ``too_old``.
    """
    if stated_ns is None:
        return UNPARSABLE
    if stated_ns - reference_ns > max_future_ns:
        return IN_FUTURE
    if reference_ns - stated_ns > max_past_ns:
        return TOO_OLD
    return None
