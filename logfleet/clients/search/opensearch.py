"""OpenSearch through ``opensearch-py`` (the Elasticsearch 8.x client refuses OpenSearch).

What differs from Elasticsearch lives here: ``flattened`` fields become ``flat_object`` (which takes no
parameters) and ``index.lifecycle.name`` is dropped from templates; point in time is
``/<index>/_search/point_in_time``; retention is an Index State Management (ISM) policy translated from
the ILM one (rollover at the same age or primary shard size, delete the same time after rollover),
attached to new data streams by its ``ism_template`` index patterns, and put only where the
index-management plugin runs; data streams are real, so dropping them is ``DELETE /_data_stream/...``.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import opensearchpy
from opensearchpy import AsyncOpenSearch

from logfleet.clients.search.engine import Engine, Index, error_of, error_parts, path_of, safe_url, unreachable_tls
from logfleet.core import security
from logfleet.core.config import Settings
from logfleet.core.errors import AuthError, ElasticsearchUnreachable, NoData, SearchRequestError

ISM_PLUGIN = "opensearch-index-management"
NDJSON = {"content-type": "application/x-ndjson"}


def client_options(settings: Settings) -> dict[str, Any]:
    """opensearch-py's arguments for the authentication and TLS settings (the same settings as for
    Elasticsearch: ``es_username``/``es_password``, ``es_api_key``, ``es_ca_certs``, ``es_verify_certs``)."""
    options = security.es_options(settings)
    out: dict[str, Any] = {}
    if "basic_auth" in options:
        out["http_auth"] = options["basic_auth"]
    if settings.es_api_key:
        out["headers"] = security.es_headers(settings)  # OpenSearch takes API keys only behind a proxy/plugin
    for key in ("verify_certs", "ssl_show_warn", "ca_certs"):
        if key in options:
            out[key] = options[key]
    if "verify_certs" in options:
        out["use_ssl"] = True
    return out


def flat_objects(mapping: Any) -> Any:
    """A mapping with every ``flattened`` field as ``flat_object`` (its parameters dropped)."""
    if isinstance(mapping, dict):
        if mapping.get("type") == "flattened":
            return {"type": "flat_object"}
        return {key: flat_objects(value) for key, value in mapping.items()}
    return mapping


def ism_policy(ilm: dict[str, Any], patterns: list[str]) -> dict[str, Any]:
    """The ISM policy equal to an ILM policy of a hot phase with rollover and a delete phase."""
    phases = ilm["policy"]["phases"]
    rollover = dict(phases["hot"]["actions"]["rollover"])
    conditions: dict[str, Any] = {}
    if "max_age" in rollover:
        conditions["min_index_age"] = rollover["max_age"]
    if "max_primary_shard_size" in rollover:
        conditions["min_primary_shard_size"] = rollover["max_primary_shard_size"]
    if "max_docs" in rollover:
        conditions["min_doc_count"] = rollover["max_docs"]
    delete_after = phases["delete"]["min_age"]
    return {
        "policy": {
            "description": "logfleet logs: rollover daily or at 50 GB per primary shard, delete 30 days after rollover"
            if (rollover.get("max_age"), delete_after) == ("1d", "30d") else "logfleet logs (from the ILM policy)",
            "default_state": "hot",
            "states": [
                {"name": "hot", "actions": [{"rollover": conditions}],
                 "transitions": [{"state_name": "delete", "conditions": {"min_rollover_age": delete_after}}]},
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": patterns, "priority": 100}],
        }
    }


def component_template(body: dict[str, Any]) -> dict[str, Any]:
    """A component template for OpenSearch: ``flattened`` as ``flat_object``; no ``index.lifecycle.name``
    (ISM attaches its policy by index pattern)."""
    out = copy.deepcopy(body)
    template = out.get("template", {})
    if "mappings" in template:
        template["mappings"] = flat_objects(template["mappings"])
    template.get("settings", {}).pop("index.lifecycle.name", None)
    return out


class OpenSearchEngine(Engine):
    """OpenSearch 2.x."""

    name = "opensearch"
    product = "OpenSearch"

    def __init__(self, settings: Settings, version: str, request_timeout: float) -> None:
        super().__init__(settings.es_url, version)
        self.client = AsyncOpenSearch(
            [settings.es_url], timeout=request_timeout, retry_on_timeout=False, max_retries=0,
            **client_options(settings),
        )

    async def close(self) -> None:
        """Close the client's connections."""
        await self.client.close()

    async def request(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None, ndjson: bool = False
    ) -> dict[str, Any]:
        """Send one request through the client's transport and return the decoded answer; errors translated."""
        url = safe_url(self.url)
        try:
            answer = await self.client.transport.perform_request(
                method, path, params=params, body=body, headers=NDJSON if ndjson else None
            )
        except opensearchpy.SSLError as exc:
            raise unreachable_tls(self.url, exc) from exc
        except opensearchpy.ConnectionTimeout as exc:
            raise ElasticsearchUnreachable(f"OpenSearch at {url} timed out") from exc
        except opensearchpy.ConnectionError as exc:
            raise ElasticsearchUnreachable(f"OpenSearch at {url} unreachable: {exc.error}") from exc
        except opensearchpy.TransportError as exc:
            kind, reason = error_parts(exc.info)
            status = exc.status_code if isinstance(exc.status_code, int) else 500
            raise error_of(self.product, self.url, status, kind or str(exc.error), reason) from exc
        return answer if isinstance(answer, (dict, list)) else {}  # type: ignore[return-value]

    async def open_pit(self, index: Index, keep_alive: str) -> str:
        """``POST /<index>/_search/point_in_time``; returns the id."""
        answer = await self.read("POST", f"/{path_of(index)}/_search/point_in_time", params={"keep_alive": keep_alive})
        return str(answer["pit_id"])

    async def close_pit(self, pit_id: str) -> None:
        """``DELETE /_search/point_in_time``."""
        await self.request("DELETE", "/_search/point_in_time", {"pit_id": [pit_id]})

    async def drop_streams(self, pattern: str) -> None:
        """The data streams matching ``pattern``, then any plain index left matching it."""
        with contextlib.suppress(NoData):
            await self.request("DELETE", f"/_data_stream/{path_of(pattern)}")
        for name in await self.indices(pattern):
            if not name.startswith(".ds-"):
                await self.delete_index(name)

    def component_template(self, body: dict[str, Any]) -> dict[str, Any]:
        """See :func:`component_template`."""
        return component_template(body)

    async def put_lifecycle(self, name: str, ilm: dict[str, Any]) -> tuple[str, bool]:
        """The ISM policy (created, or updated in place: ISM asks for the current sequence number) where the
        index-management plugin runs."""
        try:
            present = ISM_PLUGIN in await self.plugins()
        except AuthError:  # listing plugins needs cluster monitor permission: try the ISM API itself
            present = True
        if not present:
            return (f"opensearch: no index-management (ISM) plugin on this server; retention must be managed "
                    f"otherwise (policy {name} not put)", False)
        try:
            await self._put_ism(name, ism_policy(ilm, ["logs-*-*"]))
        except AuthError:
            return (f"opensearch: no permission to manage ISM policies (HTTP 401/403); retention must be managed "
                    f"otherwise (policy {name} not put)", False)
        return f"opensearch: ism policy {name} put", False

    async def _put_ism(self, name: str, body: dict[str, Any]) -> None:
        path = f"/_plugins/_ism/policies/{name}"
        try:
            current = await self.request("GET", path)
        except NoData:
            await self.request("PUT", path, body)
            return
        params = {"if_seq_no": str(current["_seq_no"]), "if_primary_term": str(current["_primary_term"])}
        try:
            await self.request("PUT", path, body, params)
        except SearchRequestError as exc:
            if exc.status != 409:  # changed meanwhile by another setup: theirs is the same policy
                raise
