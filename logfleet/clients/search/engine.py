"""The one interface logfleet has to its search engine, and :func:`connect`, which picks the engine.

:func:`connect` asks the server ``GET /`` (with the configured credentials and TLS) and builds an
:class:`Engine` for what answered: :class:`~logfleet.clients.search.opensearch.OpenSearchEngine` when
``version.distribution`` is ``opensearch``, else :class:`~logfleet.clients.search.elasticsearch.ElasticsearchEngine`.
The methods are what the call sites need (bulk, search, count, point in time, templates, lifecycle policy,
listing and dropping indices); request bodies are the same JSON for both engines, and the few places where
they differ (point-in-time paths, ``flattened`` vs ``flat_object``, ILM vs ISM, error shapes) are each
engine's own. Errors from either client are translated here into :mod:`logfleet.core.errors`: connection and TLS
failures :class:`~logfleet.core.errors.ElasticsearchUnreachable`, 401/403 :class:`~logfleet.core.errors.AuthError`,
404 :class:`~logfleet.core.errors.NoData`, any other error status :class:`~logfleet.core.errors.SearchRequestError`.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from logfleet.core.errors import AuthError, ElasticsearchUnreachable, NoData, SearchRequestError
from logfleet.core.retry import backoff
from logfleet.core.telemetry import get_logger

log = get_logger("search")

Index = str | Sequence[str]
MISSING_OK = {"ignore_unavailable": "true", "allow_no_indices": "true"}
READ_ATTEMPTS = 8  # about 8 s of backoff at most


def safe_url(url: str) -> str:
    """The URL with any credentials in it masked, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def path_of(index: Index) -> str:
    """An index name, pattern or list of them as one URL path segment."""
    names = [index] if isinstance(index, str) else list(index)
    return quote(",".join(names), safe=",*")


def tls_reason(exc: BaseException) -> str:
    """Why a TLS handshake failed (e.g. ``certificate verify failed: self-signed certificate``)."""
    cause: BaseException | None = exc
    for _ in range(10):
        if cause is None:
            break
        cause = getattr(cause, "certificate_error", None) or cause  # aiohttp wraps the ssl module's error
        if message := getattr(cause, "verify_message", None):
            return f"certificate verify failed: {message}"
        if isinstance(cause, ssl.SSLError) and (reason := getattr(cause, "reason", None)):
            return str(reason)
        errors = getattr(cause, "errors", None)  # elastic_transport's TlsError keeps the causes in .errors
        cause = (errors[0] if errors else None) or cause.__cause__ or cause.__context__
    return str(exc)


def unreachable_tls(url: str, exc: BaseException) -> ElasticsearchUnreachable:
    """The error for a TLS failure talking to ``url``."""
    return ElasticsearchUnreachable(
        f"Elasticsearch at {safe_url(url)}: TLS failed ({tls_reason(exc)}); check es_ca_certs and es_verify_certs"
    )


def error_of(product: str, url: str, status: int, kind: str, reason: str) -> Exception:
    """The project's exception for an error answer (``kind`` is the server's error type)."""
    url = safe_url(url)
    if status in (401, 403):
        return AuthError(f"{product} at {url} refused the credentials: {kind or reason}")
    if status == 404:
        return NoData(f"no such index or data stream yet: {kind or reason}")
    return SearchRequestError(f"{product} error {status}: {kind}{': ' + reason if reason else ''}", status, kind)


def error_parts(body: Any) -> tuple[str, str]:
    """(error type, reason) of an error answer's body, whatever its shape."""
    error = body.get("error") if isinstance(body, dict) else body
    if isinstance(error, dict):
        reason = str(error.get("reason", ""))
        causes = error.get("root_cause") or []
        if causes and isinstance(causes[0], dict) and causes[0].get("reason") and causes[0].get("reason") != reason:
            reason += f" ({causes[0].get('type', '')}: {causes[0]['reason']})"  # e.g. why all shards failed
        return str(error.get("type", "")), reason
    return (str(error) if error else ""), ""


class Engine(abc.ABC):
    """A connected search engine. Use :func:`connect`; every method translates the client's errors."""

    name: str  # "elasticsearch" or "opensearch"
    product: str  # for messages: "Elasticsearch" or "OpenSearch"

    read_backoff_s = 0.25  # the first wait of :meth:`read`; doubling, at most 8 times this

    def __init__(self, url: str, version: str) -> None:
        self.url = url
        self.version = version

    @abc.abstractmethod
    async def request(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None, ndjson: bool = False
    ) -> dict[str, Any]:
        """Send one request (``body``: JSON-able, or bytes as they are) and return the decoded answer."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Close the client's connections."""

    async def bulk(self, body: bytes) -> dict[str, Any]:
        """Send a ready ``_bulk`` body (NDJSON action and document lines) as it is; the answer's items
        carry each item's own status and error."""
        return await self.request("POST", "/_bulk", body, ndjson=True)

    async def search(
        self,
        index: Index | None = None,
        *,
        query: dict[str, Any] | None = None,
        sort: list[Any] | None = None,
        size: int | None = None,
        search_after: list[Any] | None = None,
        pit: dict[str, Any] | None = None,
        aggs: dict[str, Any] | None = None,
        source: bool | list[str] | None = None,
        seq_no_primary_term: bool = False,
        track_total_hits: bool | None = None,
    ) -> dict[str, Any]:
        """One ``_search``. Missing indices match nothing (no error); with ``pit`` (``{"id", "keep_alive"}``)
        no index is named, the point in time decides."""
        body: dict[str, Any] = {}
        for key, value in (("query", query), ("sort", sort), ("size", size), ("search_after", search_after),
                           ("pit", pit), ("aggs", aggs), ("_source", source), ("track_total_hits", track_total_hits)):
            if value is not None:
                body[key] = value
        if seq_no_primary_term:
            body["seq_no_primary_term"] = True
        if pit is not None or index is None:
            return await self.read("POST", "/_search", body)
        return await self.read("POST", f"/{path_of(index)}/_search", body, MISSING_OK)

    async def count(self, index: Index, query: dict[str, Any] | None = None) -> int:
        """How many documents match (missing indices count zero)."""
        body = {"query": query} if query is not None else None
        answer = await self.read("POST", f"/{path_of(index)}/_count", body, MISSING_OK)
        return int(answer["count"])

    async def read(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """A request that changes nothing, asked again (with backoff, a few seconds at most) while the
        engine answers 429 or 503: a data stream whose first shard is still being allocated answers
        searches "all shards failed" (503) for a moment after its first write."""
        attempt = 0
        while True:
            try:
                return await self.request(method, path, body, params)
            except SearchRequestError as exc:
                if exc.status not in (429, 503) or attempt == READ_ATTEMPTS - 1:
                    raise
            await asyncio.sleep(backoff(attempt, base=self.read_backoff_s, cap=8 * self.read_backoff_s))
            attempt += 1

    @abc.abstractmethod
    async def open_pit(self, index: Index, keep_alive: str) -> str:
        """Open a point in time on ``index``; returns its id (pass it as ``pit`` to :meth:`search`)."""

    @abc.abstractmethod
    async def close_pit(self, pit_id: str) -> None:
        """Close a point in time (it would expire by itself after its keep-alive)."""

    async def indices(self, pattern: Index) -> list[str]:
        """The indices (a data stream's backing indices) matching ``pattern``, sorted."""
        return sorted(await self.request("GET", f"/{path_of(pattern)}", params=MISSING_OK))

    async def mapping(self, index: Index) -> dict[str, Any]:
        """The mappings of the indices behind ``index``, by index name."""
        return await self.request("GET", f"/{path_of(index)}/_mapping")

    async def refresh(self, index: Index) -> None:
        """Make everything written to ``index`` searchable now."""
        await self.request("POST", f"/{path_of(index)}/_refresh", params=MISSING_OK)

    async def delete_index(self, name: str) -> None:
        """Delete one index or data stream by its exact name; a missing one is fine."""
        with contextlib.suppress(NoData):
            await self.request("DELETE", f"/{path_of(name)}")

    @abc.abstractmethod
    async def drop_streams(self, pattern: str) -> None:
        """Delete every data stream (and plain index) matching ``pattern``, e.g. ``logs-*-<namespace>``."""

    async def plugins(self) -> set[str]:
        """The names of the plugins the nodes run (``_cat/plugins``)."""
        rows = await self.request("GET", "/_cat/plugins", params={"format": "json"})
        return {str(row.get("component")) for row in rows} if isinstance(rows, list) else set()

    async def put_component_template(self, name: str, body: dict[str, Any]) -> None:
        """Put a component template given as in ``schemas/elasticsearch`` (``template``, ``_meta``)."""
        await self.request("PUT", f"/_component_template/{name}", self.component_template(body))

    async def put_index_template(self, name: str, body: dict[str, Any]) -> None:
        """Put a composable index template given as in ``schemas/elasticsearch``."""
        await self.request("PUT", f"/_index_template/{name}", body)

    def component_template(self, body: dict[str, Any]) -> dict[str, Any]:
        """A component template as this engine takes it (Elasticsearch: as written)."""
        return body

    @abc.abstractmethod
    async def put_lifecycle(self, name: str, ilm: dict[str, Any]) -> tuple[str, bool]:
        """Put the retention policy given as an ILM policy (``schemas/elasticsearch/ilm-*.json``); returns a
        line for the setup report and whether templates must name it in ``index.lifecycle.name``."""
