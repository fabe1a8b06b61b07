"""Elasticsearch 8.x through the official ``elasticsearch`` 8.x client (a real 8.x server rejects 9.x).

Requests go through the client's public ``perform_request`` with the JSON bodies the engine interface
builds; point in time is ``/<index>/_pit`` and ``DELETE /_pit``; retention is an ILM policy, named by
the templates' ``index.lifecycle.name``. A server without ILM (the local stand-in answers ``/_ilm`` with
400) gets no policy, and setup says so.
"""

from __future__ import annotations

from typing import Any

import elastic_transport
import elasticsearch
from elasticsearch import AsyncElasticsearch

from logfleet.clients.search.engine import Engine, Index, error_of, error_parts, path_of, safe_url, unreachable_tls
from logfleet.core import security
from logfleet.core.config import Settings
from logfleet.core.errors import AuthError, ElasticsearchUnreachable, NoData, SearchRequestError

JSON = {"content-type": "application/json", "accept": "application/json"}
NDJSON = {"content-type": "application/x-ndjson", "accept": "application/json"}


class ElasticsearchEngine(Engine):
    """Elasticsearch (or the local stand-in that answers as Elasticsearch 8)."""

    name = "elasticsearch"
    product = "Elasticsearch"

    def __init__(self, settings: Settings, version: str, request_timeout: float) -> None:
        super().__init__(settings.es_url, version)
        self.client = AsyncElasticsearch(
            settings.es_url, request_timeout=request_timeout, retry_on_timeout=False, max_retries=0,
            **security.es_options(settings),
        )

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()

    async def request(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None, ndjson: bool = False
    ) -> dict[str, Any]:
        """Send one request through the client and return the decoded answer; errors translated."""
        url = safe_url(self.url)
        try:
            response = await self.client.perform_request(
                method, path, params=params, headers=NDJSON if ndjson else JSON, body=body
            )
        except elastic_transport.TlsError as exc:
            raise unreachable_tls(self.url, exc) from exc
        except elastic_transport.ConnectionError as exc:
            raise ElasticsearchUnreachable(f"Elasticsearch at {url} unreachable: {exc.message}") from exc
        except elastic_transport.ConnectionTimeout as exc:
            raise ElasticsearchUnreachable(f"Elasticsearch at {url} timed out") from exc
        except elasticsearch.ApiError as exc:
            kind, reason = error_parts(exc.body)
            raise error_of(self.product, self.url, exc.meta.status, kind or str(exc.message), reason) from exc
        body_out = response.body
        return body_out if isinstance(body_out, (dict, list)) else {}  # type: ignore[return-value]

    async def open_pit(self, index: Index, keep_alive: str) -> str:
        """``POST /<index>/_pit``; returns the id."""
        answer = await self.read("POST", f"/{path_of(index)}/_pit",
                                 params={"keep_alive": keep_alive, "ignore_unavailable": "true"})
        return str(answer["id"])

    async def close_pit(self, pit_id: str) -> None:
        """``DELETE /_pit``."""
        await self.request("DELETE", "/_pit", {"id": pit_id})

    async def drop_streams(self, pattern: str) -> None:
        """Each index behind ``pattern`` deleted by name (wildcard deletes are refused by default, and
        the stand-in keeps data streams as plain indices)."""
        for name in await self.indices(pattern):
            await self.delete_index(name)

    async def put_lifecycle(self, name: str, ilm: dict[str, Any]) -> tuple[str, bool]:
        """The ILM policy as it is; a server without ILM gets none (one line says so)."""
        try:
            await self.request("PUT", f"/_ilm/policy/{name}", {"policy": ilm["policy"]})
        except AuthError:  # a setup user without manage_ilm: the templates still go in
            return ("elasticsearch: no permission to manage ILM (HTTP 401/403); retention must be managed "
                    "otherwise", False)
        except (SearchRequestError, NoData) as exc:
            status = getattr(exc, "status", 404)
            return (f"elasticsearch: no ILM on this server (HTTP {status}); retention must be managed otherwise",
                    False)
        return f"elasticsearch: ilm policy {name} put", True
