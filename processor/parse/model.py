"""The result type of the line parsers, kept apart so every parser module can import it."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(slots=True)
class Parsed:
    """What one line turned out to be.

    ``format`` names the detected format; ``fields`` is a nested ECS-shaped dict that always has
    ``message`` and may have ``log.level`` (as ``{"log": {"level": ...}}``) and others; ``document``
    is the decoded JSON object when the line was a JSON object, for format enforcement.
    ``stated_time`` is the time the line states, exactly as written in it (``"1203 05:54:01.123456"``,
    ``"2026/12/03 05:54:01"``, ``"03 Dec 2026 05:54:01.123"``); turning it into a point in time is
    left to ``processor/parse/eventtime.py``. It is never put into ``fields``.
    """

    format: str
    fields: dict[str, Any]
    document: dict[str, Any] | None = None
    stated_time: str | int | float | None = None
