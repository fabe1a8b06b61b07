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
    """

    format: str
    fields: dict[str, Any]
    document: dict[str, Any] | None = None
