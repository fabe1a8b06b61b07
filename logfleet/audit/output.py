"""Print audit results as a table, JSON, NDJSON or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

import orjson

FORMATS = ("table", "json", "ndjson", "csv")
COLUMNS = ("@timestamp", "container.name", "service.name", "stream", "log.level", "message")


def field(doc: dict[str, Any], dotted: str) -> Any:
    """A dotted field of a nested document ('' when absent)."""
    value: Any = doc
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, dict) and dotted in value:
            return value[dotted]
        else:
            return ""
    return value


def render(docs: Iterable[dict[str, Any]], fmt: str) -> str:
    """The documents in the given format, as one string ending in a newline (or empty)."""
    docs = list(docs)
    if fmt == "json":
        return orjson.dumps(docs, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "ndjson":
        return "".join(orjson.dumps(d).decode() + "\n" for d in docs)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(COLUMNS)
        for doc in docs:
            writer.writerow([_text(field(doc, c)) for c in COLUMNS])
        return buffer.getvalue()
    rows = [[_text(field(doc, c)).replace("\n", "\\n") for c in COLUMNS] for doc in docs]
    if not rows:
        return ""
    widths = [min(40, max(len(COLUMNS[i]), *(len(r[i]) for r in rows))) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=False)) + "  message"]
    for row in rows:
        cells = [cell[:w].ljust(w) for cell, w in zip(row, widths, strict=False)]
        lines.append("  ".join(cells) + "  " + row[-1])
    return "\n".join(lines) + "\n"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode() if value != "" else ""
