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

    ``stated_time`` is the line's own time exactly as written (the text, or the number a JSON logger
    wrote), or None when the line states none; ``processor/parse/eventtime.py`` reads it and the
    processor makes it the event's ``@timestamp``. ``dialect`` names the logger whose JSON keys were
    recognised (``structlog``, ``clef``, ``ecs``...; see ``processor/parse/dialects.py``), None for
    the canonical form and everything else. ``has_message`` is False when a structured line (JSON,
    logfmt) has no message of its own, so ``message`` holds the whole line.
    """

    format: str
    fields: dict[str, Any]
    document: dict[str, Any] | None = None
    stated_time: str | int | float | None = None
    dialect: str | None = None
    has_message: bool = True
