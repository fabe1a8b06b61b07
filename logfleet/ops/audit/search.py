"""Search the log data streams with filters, in order down to the nanosecond.

Every audit query reads ``logs-*-<namespace>`` (or every namespace with ``*``): the log streams of
one namespace and its dead-letter stream. Records are ordered by ``@timestamp`` (``date_nanos``: the
time the line states, else Docker's), then in Docker's order: ``event.created`` (Docker's receive
time, ``date_nanos``) and ``event.sequence`` (the ordinal of lines sharing a Docker timestamp), then
``event.id`` (so the order is total and ``search_after`` can resume from any record). Lines that state
the same time (many loggers write milliseconds, some whole seconds) thus keep the order in which
their container wrote them. Filters are ``term`` queries on
keyword fields (a ``query_string`` ``field:value-with-dash`` misses on some servers); the free-text
QUERY is Lucene syntax over ``message``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from logfleet.clients.search import Engine
from logfleet.core import deadletter
from logfleet.core.errors import ConfigError, NoData
from logfleet.ops.audit.timeexpr import parse_time, to_es

LOG_STREAMS = "logs-*"
_NAMESPACE = re.compile(r"^(\*|[a-z0-9_]+)$")


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
    namespace: str = "*"
    dead_letters: bool = False

    def validate(self) -> Filters:
        """Check the time expressions and the namespace now, before any request (raises LogfleetError)."""
        for expr in (self.since, self.until):
            if expr:
                parse_time(expr)
        check_namespace(self.namespace)
        return self


def check_namespace(namespace: str) -> str:
    """A namespace as data stream names allow it (lower case, digits, ``_``), or ``*`` for all."""
    if not _NAMESPACE.match(namespace):
        raise ConfigError(f"bad namespace {namespace!r}: lower-case letters, digits and _, or * for every namespace")
    return namespace


def streams(namespace: str) -> str:
    """The index pattern of every data stream (logs and dead letters) of a namespace."""
    return f"logs-*-{check_namespace(namespace)}" if namespace != "*" else LOG_STREAMS


def deadletter_streams(namespace: str) -> str:
    """The index pattern of the dead-letter stream of a namespace (or of all of them)."""
    return deadletter.stream_name(check_namespace(namespace))


def index_for(filters: Filters) -> str:
    """Where a search with these filters looks."""
    return deadletter_streams(filters.namespace) if filters.dead_letters else streams(filters.namespace)


def time_range(since: str, until: str) -> dict[str, str]:
    """The ``@timestamp`` range for the window (empty when neither end is given)."""
    bounds: dict[str, str] = {}
    if since:
        bounds["gte"] = to_es(parse_time(since))
    if until:
        bounds["lte"] = to_es(parse_time(until))
    return bounds


def filter_clauses(filters: Filters) -> list[dict[str, Any]]:
    """The filter clauses of the query: free text, exact fields, time window."""
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
    bounds = time_range(filters.since, filters.until)
    if bounds:
        must.append({"range": {"@timestamp": bounds}})
    return must


DEADLETTER_CLAUSE: dict[str, Any] = {"term": {"data_stream.dataset": deadletter.DATASET}}


def build_query(filters: Filters) -> dict[str, Any]:
    """The Elasticsearch bool query for the filters (dead letters excluded unless asked for)."""
    query: dict[str, Any] = {"filter": filter_clauses(filters)}
    if filters.dead_letters:
        query["filter"].append(DEADLETTER_CLAUSE)
    else:
        query["must_not"] = [DEADLETTER_CLAUSE]
    return {"bool": query}


SORT_FIELDS = ("@timestamp", "event.created", "event.sequence", "event.id")
_UNMAPPED = {"event.created": "date_nanos", "event.sequence": "long", "event.id": "keyword"}


def sort_spec(order: str = "asc") -> list[dict[str, Any]]:
    """The total order of records: the line's time, then Docker's time and sequence, then id."""
    spec: list[dict[str, Any]] = []
    for field in SORT_FIELDS:
        options: dict[str, Any] = {"order": order}
        if field in _UNMAPPED:
            options["unmapped_type"] = _UNMAPPED[field]
        spec.append({field: options})
    return spec


def require_data(answer: Any, filters: Filters) -> None:
    """Raise NoData when the search touched no index at all (no data stream matches yet)."""
    shards = answer.get("_shards") or {}
    if shards.get("total", 1) == 0:
        what = "dead-letter stream" if filters.dead_letters else "log data stream"
        raise NoData(
            f"no {what} yet: nothing matches {index_for(filters)} "
            f"(is the pipeline running? is it another --namespace?)"
        )


async def search(
    es: Engine, filters: Filters, limit: int, newest_first: bool = False
) -> list[dict[str, Any]]:
    """The ``limit`` most recent matching documents, returned oldest first unless ``newest_first``."""
    answer = await es.search(index_for(filters), query=build_query(filters), sort=sort_spec("desc"), size=limit)
    require_data(answer, filters)
    docs = [dict(hit["_source"]) for hit in answer["hits"]["hits"]]
    return docs if newest_first else docs[::-1]
