"""Parse the time expressions of ``--since``/``--until``: ``now``, relative (``15m``, ``2h``, ``7d``) or RFC 3339."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from logfleet.core.errors import BadTimeExpression

_RELATIVE = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(expr: str, now: datetime | None = None) -> datetime:
    """An absolute UTC time for ``expr``; raises BadTimeExpression with the accepted forms."""
    now = now or datetime.now(UTC)
    if expr.strip().lower() == "now":
        return now
    match = _RELATIVE.match(expr)
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    text = expr.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadTimeExpression(
            f"bad time expression {expr!r}: use now, a duration like 15m, 2h, 7d or RFC 3339 like 2024-05-01T12:00:00Z"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_es(moment: datetime) -> str:
    """A datetime as the RFC 3339 string Elasticsearch range queries accept."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
