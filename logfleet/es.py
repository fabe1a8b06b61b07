"""The Elasticsearch client as logfleet uses it, with errors translated at the boundary.

Only the 8.x client is supported (a real 8.x server rejects the 9.x client). Connection failures
become :class:`~logfleet.errors.ElasticsearchUnreachable`, refused credentials
:class:`~logfleet.errors.AuthError`, a missing index :class:`~logfleet.errors.NoData`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import elastic_transport
import elasticsearch
from elasticsearch import AsyncElasticsearch

from logfleet.config import Settings
from logfleet.errors import AuthError, ElasticsearchUnreachable, LogfleetError, NoData

NDJSON = {"content-type": "application/x-ndjson", "accept": "application/json"}


@contextlib.asynccontextmanager
async def client(settings: Settings, request_timeout: float = 60) -> AsyncIterator[AsyncElasticsearch]:
    """An AsyncElasticsearch for ``settings.es_url``, closed after the block; errors translated."""
    es = AsyncElasticsearch(settings.es_url, request_timeout=request_timeout, retry_on_timeout=False, max_retries=0)
    try:
        with translate_errors(settings.es_url):
            yield es
    finally:
        await es.close()


def safe_url(url: str) -> str:
    """The URL with any credentials in it masked, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@contextlib.contextmanager
def translate_errors(url: str) -> Any:
    """Turn the client's exceptions into the project's exception tree (credentials never printed)."""
    url = safe_url(url)
    try:
        yield
    except elastic_transport.ConnectionError as exc:
        raise ElasticsearchUnreachable(f"Elasticsearch at {url} unreachable: {exc.message}") from exc
    except elastic_transport.ConnectionTimeout as exc:
        raise ElasticsearchUnreachable(f"Elasticsearch at {url} timed out") from exc
    except (elasticsearch.AuthenticationException, elasticsearch.AuthorizationException) as exc:
        raise AuthError(f"Elasticsearch at {url} refused the credentials: {exc.message}") from exc
    except elasticsearch.NotFoundError as exc:
        raise NoData(f"no such index or data stream yet: {exc.message}") from exc
    except elasticsearch.ApiError as exc:
        raise LogfleetError(f"Elasticsearch error {exc.meta.status}: {exc.message}") from exc


async def bulk_raw(es: AsyncElasticsearch, body: bytes) -> dict[str, Any]:
    """Send a ready ``_bulk`` body as it is; return the decoded answer."""
    response = await es.perform_request("POST", "/_bulk", headers=NDJSON, body=body)
    return dict(response.body)
