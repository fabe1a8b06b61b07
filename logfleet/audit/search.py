"""Search the log data streams with filters, in order down to the nanosecond."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import AsyncElasticsearch

from logfleet import deadletter
from logfleet.audit.timeexpr import parse_time, to_es

LOG_STREAMS = "logs-*"


@dataclass(frozen=True)
class Filters:
    """What to look for; empty fields do not filter."""

    query: str = ""
    container: str = ""
    service: str = ""
    host: str = ""
    level: str = ""
    since: str = ""
    until: str = ""


def build_query(filters: Filters) -> dict[str, Any]:
    """The Elasticsearch bool query for the filters (dead letters excluded)."""
    must: list[dict[str, Any]] = []
    if filters.query:
        must.append({"query_string": {"query": filters.query, "default_field": "message"}})
    for field, value in (
        ("container.name", filters.container),
        ("service.name", filters.service),
        ("host.name", filters.host),
        ("log.level", filters.level.lower()),
    ):
        if value:
            must.append({"term": {field: value}})
    time_range: dict[str, str] = {}
    if filters.since:
        time_range["gte"] = to_es(parse_time(filters.since))
    if filters.until:
        time_range["lte"] = to_es(parse_time(filters.until))
    if time_range:
        must.append({"range": {"@timestamp": time_range}})
    return {
        "bool": {
            "filter": must,
            "must_not": [{"term": {"data_stream.dataset": deadletter.DATASET}}],
        }
    }


SORT_FIELDS = ("@timestamp", "event.sequence")


async def search(
    es: AsyncElasticsearch, filters: Filters, limit: int, newest_first: bool = False
) -> list[dict[str, Any]]:
    """The ``limit`` most recent matching documents, returned oldest first unless ``newest_first``."""
    sort = [{field: {"order": "desc"}} for field in SORT_FIELDS]
    answer = await es.search(
        index=LOG_STREAMS,
        query=build_query(filters),
        sort=sort,
        size=limit,
        ignore_unavailable=True,
        allow_no_indices=True,
    )
    docs = [dict(hit["_source"]) for hit in answer["hits"]["hits"]]
    return docs if newest_first else docs[::-1]
