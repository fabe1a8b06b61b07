"""Which engine answers at ``es_url``: :func:`connect` asks ``GET /`` and builds the matching
:class:`~logfleet.clients.search.engine.Engine` (OpenSearch when ``version.distribution`` says so,
else Elasticsearch), retrying an unreachable server with backoff when asked to."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from logfleet.clients.search.engine import Engine, error_of, error_parts, safe_url, unreachable_tls
from logfleet.core import security
from logfleet.core.config import Settings
from logfleet.core.errors import ConfigError, ElasticsearchUnreachable
from logfleet.core.retry import backoff
from logfleet.core.telemetry import get_logger

log = get_logger("search")


async def _probe(settings: Settings, limit_s: float) -> dict[str, Any]:
    """The server's answer to ``GET /``."""
    url = settings.es_url.rstrip("/") + "/"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit_s)) as session,
            session.get(url, headers=security.es_headers(settings), ssl=security.es_ssl(settings) or True) as resp,
        ):
            raw = await resp.read()
            status = resp.status
    except (aiohttp.ClientSSLError, ssl.SSLError) as exc:
        raise unreachable_tls(settings.es_url, exc) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise ElasticsearchUnreachable(f"Elasticsearch at {safe_url(settings.es_url)} unreachable: {exc}") from exc
    except TimeoutError as exc:
        raise ElasticsearchUnreachable(f"Elasticsearch at {safe_url(settings.es_url)} timed out") from exc
    try:
        answer = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        answer = {"error": raw[:200].decode(errors="replace")}
    if status >= 400:
        raise error_of("Elasticsearch", settings.es_url, status, *error_parts(answer))
    return dict(answer) if isinstance(answer, dict) else {}


@contextlib.asynccontextmanager
async def connect(settings: Settings, request_timeout: float = 60, attempts: int = 1) -> AsyncIterator[Engine]:
    """The engine at ``settings.es_url`` (auth and TLS from the settings), chosen from its ``GET /``
    answer, closed after the block. An unreachable server is asked up to ``attempts`` times (backing off
    up to 10 s; daemons pass a large number), then the project's error is raised."""
    options = security.es_options(settings)
    if options.get("verify_certs") is False:
        log.warning("es_tls_unverified", url=safe_url(settings.es_url), setting="es_verify_certs=false")
    for attempt in range(attempts):
        try:
            info = await _probe(settings, min(request_timeout, 30.0))
            break
        except ElasticsearchUnreachable as exc:
            if attempt == attempts - 1:
                raise
            delay = backoff(attempt, cap=10.0)
            log.warning("search_engine_unreachable", error=str(exc), retry_in=round(delay, 2))
            await asyncio.sleep(delay)
    version = dict(info.get("version") or {})
    engine: Engine
    try:
        if version.get("distribution") == "opensearch":
            from logfleet.clients.search.opensearch import OpenSearchEngine  # opensearch-py only when needed

            engine = OpenSearchEngine(settings, str(version.get("number", "")), request_timeout)
        else:
            from logfleet.clients.search.elasticsearch import ElasticsearchEngine

            engine = ElasticsearchEngine(settings, str(version.get("number", "")), request_timeout)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(f"search client for {safe_url(settings.es_url)} cannot be set up: {exc}") from None
    try:
        yield engine
    finally:
        await engine.close()
