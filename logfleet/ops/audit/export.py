"""Export every matching record, in nanosecond order, through a point in time and ``search_after``.

A point in time (PIT) freezes what the search sees, so records indexed while the export runs neither
appear half-way nor shift the pages; ``search_after`` on the sort key pages through any number of
records without the 10,000-hit window of ``from``/``size``. The file is written beside its final
name and renamed at the end, so an interrupted export never leaves a file that looks complete.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from logfleet.clients.search import Engine
from logfleet.ops.audit.output import EXPORT_COLUMNS, csv_row
from logfleet.ops.audit.search import Filters, build_query, index_for, require_data, sort_spec

PAGE = 10_000  # the largest page Elasticsearch serves by default (index.max_result_window)
KEEP_ALIVE = "5m"


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    written: int
    total: int
    path: str


async def records(
    es: Engine,
    filters: Filters,
    page: int = PAGE,
    on_total: Callable[[int], None] | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Pages of every matching document (``_source``), ascending, from one point in time.

    ``on_total`` is called once with the number of matching records in that point in time.
    """
    probe = await es.search(index_for(filters), query=build_query(filters), size=0)  # any index at all?
    require_data(probe, filters)
    pit_id = await es.open_pit(index_for(filters), KEEP_ALIVE)
    after: list[Any] | None = None
    try:
        while True:
            answer = await es.search(
                pit={"id": pit_id, "keep_alive": KEEP_ALIVE},
                query=build_query(filters),
                sort=sort_spec("asc"),
                size=page,
                search_after=after,
                track_total_hits=after is None,
            )
            pit_id = str(answer.get("pit_id") or pit_id)
            if after is None and on_total is not None:
                on_total(int(answer["hits"]["total"]["value"]))
            hits = answer["hits"]["hits"]
            if hits:
                yield [dict(hit["_source"]) for hit in hits]
            if len(hits) < page:
                return
            after = list(hits[-1]["sort"])
    finally:
        with contextlib.suppress(Exception):  # the PIT expires by itself; never hide the real error
            await es.close_pit(pit_id)


class Writer:
    """Writes documents as NDJSON or CSV (with a header) to a binary stream."""

    def __init__(self, stream: IO[bytes], fmt: str) -> None:
        self.stream = stream
        self.fmt = fmt
        if fmt == "csv":
            self.stream.write(_csv_bytes([list(EXPORT_COLUMNS)]))

    def write(self, docs: list[dict[str, Any]]) -> None:
        if self.fmt == "csv":
            self.stream.write(_csv_bytes([csv_row(doc, EXPORT_COLUMNS) for doc in docs]))
        else:
            self.stream.write(b"".join(orjson.dumps(doc) + b"\n" for doc in docs))


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


@contextlib.contextmanager
def open_output(path: str) -> Iterator[IO[bytes]]:
    """The binary stream to export into: stdout for ``-``, else a temporary file renamed on success."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    final = Path(path)
    partial = final.with_name(f".{final.name}.partial")
    try:
        with open(partial, "wb") as stream:
            yield stream
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)


async def export(
    es: Engine,
    filters: Filters,
    path: str,
    fmt: str,
    page: int = PAGE,
    on_total: Callable[[int], None] | None = None,
    on_page: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write every matching record to ``path`` (``-`` for stdout) as ``ndjson`` or ``csv``."""
    total = 0

    def remember(n: int) -> None:
        nonlocal total
        total = n
        if on_total is not None:
            on_total(n)

    written = 0
    with open_output(path) as stream:
        writer = Writer(stream, fmt)
        async for docs in records(es, filters, page, remember):
            writer.write(docs)
            written += len(docs)
            if on_page is not None:
                on_page(len(docs))
    return ExportResult(written=written, total=total, path=path)
