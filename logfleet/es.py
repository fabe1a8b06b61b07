"""The Elasticsearch client as logfleet uses it, with errors translated at the boundary.

Only the 8.x client is supported (a real 8.x server rejects the 9.x client). Authentication and TLS
come from :func:`logfleet.security.es_options`. Connection failures (and a server certificate that
cannot be verified) become :class:`~logfleet.errors.ElasticsearchUnreachable`, refused credentials
:class:`~logfleet.errors.AuthError`, a missing index :class:`~logfleet.errors.NoData`.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import elastic_transport
import elasticsearch
from elasticsearch import AsyncElasticsearch

from logfleet import security
from logfleet.config import Settings
from logfleet.errors import AuthError, ConfigError, ElasticsearchUnreachable, LogfleetError, NoData
from logfleet.telemetry import get_logger

log = get_logger("es")

NDJSON = {"content-type": "application/x-ndjson", "accept": "application/json"}


@contextlib.asynccontextmanager
async def client(settings: Settings, request_timeout: float = 60) -> AsyncIterator[AsyncElasticsearch]:
    """An AsyncElasticsearch for ``settings.es_url`` (auth and TLS from the settings), closed after the
    block; errors translated."""
    options = security.es_options(settings)
    if options.get("verify_certs") is False:
        log.warning("es_tls_unverified", url=safe_url(settings.es_url), setting="es_verify_certs=false")
    try:
        es = AsyncElasticsearch(
            settings.es_url,
            request_timeout=request_timeout,
            retry_on_timeout=False,
            max_retries=0,
            **options,
        )
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise ConfigError(f"Elasticsearch client for {safe_url(settings.es_url)} cannot be set up: {exc}") from None
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
    except elastic_transport.TlsError as exc:
        raise ElasticsearchUnreachable(
            f"Elasticsearch at {url}: TLS failed ({_tls_reason(exc)}); check es_ca_certs and es_verify_certs"
        ) from exc
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


def _tls_reason(exc: elastic_transport.TlsError) -> str:
    """The reason the TLS handshake failed (e.g. certificate verify failed: self-signed certificate)."""
    cause: BaseException | None = exc.errors[0] if exc.errors else exc
    for _ in range(10):
        if cause is None:
            break
        cause = getattr(cause, "certificate_error", None) or cause  # aiohttp wraps the ssl module's error
        if message := getattr(cause, "verify_message", None):
            return f"certificate verify failed: {message}"
        if isinstance(cause, ssl.SSLError) and (reason := getattr(cause, "reason", None)):
            return str(reason)
        cause = cause.__cause__ or cause.__context__
    return str(exc.message)


async def bulk_raw(es: AsyncElasticsearch, body: bytes) -> dict[str, Any]:
    """Send a ready ``_bulk`` body as it is; return the decoded answer."""
    response = await es.perform_request("POST", "/_bulk", headers=NDJSON, body=body)
    return dict(response.body)
