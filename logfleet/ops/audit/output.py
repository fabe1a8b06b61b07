"""Print audit results as a table, JSON, NDJSON or CSV.

Records (``search``, ``follow``, ``export``) print as one row per record: the table shows the
columns a person reads, CSV the columns an auditor keeps (including ``event.id``, the record's
permanent id). Reports (``stats``, ``violations``) print as a table for people, nested JSON, or
flat rows (NDJSON, CSV) for spreadsheets and scripts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

FORMATS = ("table", "json", "ndjson", "csv")
COLUMNS = ("@timestamp", "container.name", "service.name", "stream", "log.level", "message")
EXPORT_COLUMNS = (
    "@timestamp",
    "event.created",
    "event.sequence",
    "event.id",
    "host.name",
    "container.id",
    "container.name",
    "container.image.name",
    "service.name",
    "stream",
    "log.level",
    "logfleet.format",
    "logfleet.violations",
    "error.type",
    "message",
)


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


def csv_row(doc: dict[str, Any], columns: Sequence[str] = EXPORT_COLUMNS) -> list[str]:
    """One CSV row of a document: strings as they are, other values as JSON."""
    return [_text(field(doc, c)) for c in columns]


def _csv(rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def render(docs: Iterable[dict[str, Any]], fmt: str) -> str:
    """The documents in the given format, as one string ending in a newline (or empty)."""
    docs = list(docs)
    if fmt == "json":
        return orjson.dumps(docs, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "ndjson":
        return "".join(orjson.dumps(d).decode() + "\n" for d in docs)
    if fmt == "csv":
        return _csv([EXPORT_COLUMNS, *(csv_row(doc) for doc in docs)])
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


class StreamPrinter:
    """Prints records as they arrive (``follow``): a header once, rows of fixed width, a valid end."""

    WIDTHS = (30, 24, 16, 6, 9)

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.count = 0

    def start(self) -> str:
        if self.fmt == "json":
            return "[\n"
        if self.fmt == "csv":
            return _csv([EXPORT_COLUMNS])
        if self.fmt == "table":
            return self._table_row(list(COLUMNS))
        return ""

    def rows(self, docs: list[dict[str, Any]]) -> str:
        out: list[str] = []
        for doc in docs:
            if self.fmt == "json":
                text = orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()
                out.append(("" if self.count == 0 else ",\n") + _indent(text))
            elif self.fmt == "ndjson":
                out.append(orjson.dumps(doc).decode() + "\n")
            elif self.fmt == "csv":
                out.append(_csv([csv_row(doc)]))
            else:
                out.append(self._table_row([_text(field(doc, c)).replace("\n", "\\n") for c in COLUMNS]))
            self.count += 1
        return "".join(out)

    def end(self) -> str:
        if self.fmt == "json":
            return ("\n" if self.count else "") + "]\n"
        return ""

    def _table_row(self, cells: list[str]) -> str:
        fixed = [cell[:w].ljust(w) for cell, w in zip(cells, self.WIDTHS, strict=False)]
        return "  ".join(fixed) + "  " + cells[-1] + "\n"


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def render_report(report: dict[str, Any], rows: list[dict[str, Any]], fmt: str, table: str) -> str:
    """A report as nested JSON, as flat rows (NDJSON, CSV), or as the given table text."""
    if fmt == "json":
        return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "ndjson":
        return "".join(orjson.dumps(row).decode() + "\n" for row in rows)
    if fmt == "csv":
        if not rows:
            return ""
        columns = list(rows[0])
        return _csv([columns, *([_cell(row[c]) for c in columns] for row in rows)])
    return table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6f}".rstrip("0").rstrip(".") if value else "0"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()) -> str:
    """A plain text table; columns whose index is in ``right`` are right-aligned (numbers)."""
    cells = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        parts = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines) + "\n"


def percent(share: float) -> str:
    """A share as a percentage with one decimal (``12.5%``)."""
    return f"{share * 100:.1f}%"
