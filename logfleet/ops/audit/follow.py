"""Follow matching records as they arrive, like ``tail -f``, in nanosecond order.

The cursor is the sort key ``[@timestamp, event.created, event.sequence, event.id]`` of the newest
record shown; each poll asks for what sorts after it (``search_after``). Records do not reach
Elasticsearch in timestamp order, though: lines of two containers travel through different Kafka
partitions and batches, and a line's own time can lag Docker's (a buffered logger), so a record can
become searchable after a newer one was already shown. Each poll therefore
also counts the matching records in the last ``grace`` seconds before the cursor; when there are more
than were shown, it fetches that window and shows the ones it had not shown yet (so a late record
appears once, a little out of order). A record that arrives more than ``grace`` behind the newest
one shown is not shown; ``logfleet audit search`` still finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from logfleet.clients.search import Engine
from logfleet.ops.audit.search import SORT_FIELDS, Filters, build_query, index_for, require_data, sort_spec

NS_PER_MS = 1_000_000
PAGE = 1000
KEY_LENGTH = len(SORT_FIELDS)


@dataclass
class _Cursor:
    last: list[Any] | None = None  # sort values of the newest record shown
    shown: dict[str, int] = field(default_factory=dict)  # _id -> @timestamp in ns, within the grace window

    def advance(self, hit: dict[str, Any]) -> None:
        key = hit["sort"][:KEY_LENGTH]
        self.shown[hit["_id"]] = int(key[0])
        if self.last is None or _key(key) > _key(self.last):
            self.last = key

    def prune(self, grace_ns: int) -> None:
        if self.last is None:
            return
        horizon = int(self.last[0]) - grace_ns - NS_PER_MS
        for doc_id in [i for i, ts in self.shown.items() if ts < horizon]:
            del self.shown[doc_id]


def _key(sort: list[Any]) -> tuple[int, int, int, str]:
    return int(sort[0]), int(sort[1]), int(sort[2]), str(sort[3])


def _with_range(filters: Filters, gte_ms: int | None, lt_ms: int | None = None) -> dict[str, Any]:
    query = build_query(filters)
    bounds: dict[str, Any] = {"format": "epoch_millis"}
    if gte_ms is not None:
        bounds["gte"] = gte_ms
    if lt_ms is not None:
        bounds["lt"] = lt_ms
    if len(bounds) > 1:
        query["bool"]["filter"] = [*query["bool"]["filter"], {"range": {"@timestamp": bounds}}]
    return query


async def _pages(
    es: Engine, filters: Filters, query: dict[str, Any], after: list[Any] | None, source: bool = True
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every matching hit in ascending order after ``after``, a page at a time."""
    while True:
        answer = await es.search(
            index_for(filters), query=query, sort=sort_spec("asc"), size=PAGE, search_after=after, source=source
        )
        require_data(answer, filters)
        hits = [dict(h) for h in answer["hits"]["hits"]]
        if hits:
            yield hits
        if len(hits) < PAGE:
            return
        after = hits[-1]["sort"]


async def _start(
    es: Engine, filters: Filters, cursor: _Cursor, lines: int, grace_ns: int
) -> list[dict[str, Any]]:
    """The records shown first: everything since ``--since``, else the last ``lines`` records."""
    shown: list[dict[str, Any]] = []
    if filters.since:
        async for hits in _pages(es, filters, build_query(filters), None):
            for hit in hits:
                cursor.advance(hit)
                shown.append(hit)
        return shown
    answer = await es.search(index_for(filters), query=build_query(filters), sort=sort_spec("desc"), size=max(lines, 1))
    require_data(answer, filters)
    hits = [dict(h) for h in answer["hits"]["hits"]][::-1]
    if not hits:
        return shown
    newest = hits[-1]
    cursor.last = newest["sort"][:KEY_LENGTH]
    # Everything already stored in the grace window counts as shown, or it would look late.
    low = (int(cursor.last[0]) - grace_ns) // NS_PER_MS
    async for page in _pages(es, filters, _with_range(filters, low), None, source=False):
        for hit in page:
            if _key(hit["sort"]) <= _key(cursor.last):
                cursor.shown[hit["_id"]] = int(hit["sort"][0])
    for hit in hits[len(hits) - lines :] if lines else []:
        cursor.advance(hit)
        shown.append(hit)
    return shown


async def _poll(es: Engine, filters: Filters, cursor: _Cursor, grace_ns: int) -> list[dict[str, Any]]:
    """Records that arrived since the last poll, newer ones and late ones."""
    found: list[dict[str, Any]] = []
    before = cursor.last
    low = int(before[0]) // NS_PER_MS if before else None
    async for hits in _pages(es, filters, _with_range(filters, low), before):
        found += [h for h in hits if h["_id"] not in cursor.shown]
    if before is not None and grace_ns > 0:
        found += await _late(es, filters, cursor, before, grace_ns)
    found.sort(key=lambda h: _key(h["sort"]))
    for hit in found:
        cursor.advance(hit)
    cursor.prune(grace_ns)
    return found


async def _late(
    es: Engine, filters: Filters, cursor: _Cursor, before: list[Any], grace_ns: int
) -> list[dict[str, Any]]:
    """Records at or before the cursor (within the grace window) that were not shown."""
    low_ms = (int(before[0]) - grace_ns) // NS_PER_MS
    high_ms = int(before[0]) // NS_PER_MS + 1
    query = _with_range(filters, low_ms, high_ms)
    counted = await es.count(index_for(filters), query)
    known = sum(1 for ts in cursor.shown.values() if low_ms * NS_PER_MS <= ts < high_ms * NS_PER_MS)
    if counted <= known:
        return []
    late: list[dict[str, Any]] = []
    async for hits in _pages(es, filters, query, None):
        late += [h for h in hits if h["_id"] not in cursor.shown and _key(h["sort"]) <= _key(before)]
    return late


async def follow(
    es: Engine,
    filters: Filters,
    *,
    lines: int = 10,
    interval: float = 1.0,
    grace: float = 10.0,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[list[dict[str, Any]]]:
    """Batches of matching documents (``_source``), oldest first, until ``stop`` is set."""
    stop = stop or asyncio.Event()
    grace_ns = int(grace * 1e9)
    cursor = _Cursor()
    first = await _start(es, filters, cursor, lines, grace_ns)
    if first:
        yield [dict(h["_source"]) for h in first]
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        batch = await _poll(es, filters, cursor, grace_ns)
        if batch:
            yield [dict(h["_source"]) for h in batch]
