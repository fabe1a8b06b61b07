"""Security settings turned into client arguments: Kafka TLS and SASL, Elasticsearch TLS and auth.

Every Kafka client (producer, consumer, admin) takes :func:`kafka_options` and every Elasticsearch
client :func:`es_options` (raw HTTP callers :func:`es_headers` and :func:`es_ssl`), so one place
decides how logfleet authenticates (whether the combination of settings can work at all is checked
when they are loaded, by :func:`logfleet.core.config.check_security`). Kafka TLS and SASL_SSL/SCRAM are tested
against a real Apache Kafka broker with ACLs; Elasticsearch TLS and auth through a TLS-terminating
proxy in front of the local stand-in.
"""

from __future__ import annotations

import base64
import ssl
from typing import Any
from urllib.parse import urlsplit

from logfleet.core.config import Settings
from logfleet.core.errors import ConfigError


def kafka_options(settings: Settings) -> dict[str, Any]:
    """The aiokafka constructor arguments for the configured protocol (producer, consumer and admin alike)."""
    from aiokafka.helpers import create_ssl_context

    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        try:
            options["ssl_context"] = create_ssl_context(
                cafile=settings.kafka_ssl_cafile or None,
                certfile=settings.kafka_ssl_certfile or None,
                keyfile=settings.kafka_ssl_keyfile or None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"Kafka TLS files (kafka_ssl_cafile/certfile/keyfile) cannot be loaded: {exc}") from None
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password
    return options


def _api_key(settings: Settings) -> str | tuple[str, str]:
    """``id:key`` as the client's (id, key) pair, anything else as the already encoded key."""
    key_id, sep, key = settings.es_api_key.partition(":")
    return (key_id, key) if sep else settings.es_api_key


def es_options(settings: Settings) -> dict[str, Any]:
    """The AsyncElasticsearch arguments for authentication and TLS (TLS ones only for an https URL)."""
    options: dict[str, Any] = {}
    if settings.es_api_key:
        options["api_key"] = _api_key(settings)
    elif settings.es_username:
        options["basic_auth"] = (settings.es_username, settings.es_password)
    if urlsplit(settings.es_url).scheme == "https":
        options["verify_certs"] = settings.es_verify_certs
        if not settings.es_verify_certs:
            options["ssl_show_warn"] = False  # search.connect logs one line instead of a multi-line warning
        if settings.es_ca_certs:
            options["ca_certs"] = settings.es_ca_certs
    return options


def es_headers(settings: Settings) -> dict[str, str]:
    """The Authorization header for raw HTTP requests to Elasticsearch (empty without credentials)."""
    if settings.es_api_key:
        key = _api_key(settings)
        encoded = base64.b64encode(":".join(key).encode()).decode() if isinstance(key, tuple) else key
        return {"authorization": f"ApiKey {encoded}"}
    if settings.es_username:
        pair = f"{settings.es_username}:{settings.es_password}".encode()
        return {"authorization": f"Basic {base64.b64encode(pair).decode()}"}
    return {}


def es_ssl(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for raw HTTP requests to an https Elasticsearch (None for http)."""
    if urlsplit(settings.es_url).scheme != "https":
        return None
    context = ssl.create_default_context(cafile=settings.es_ca_certs or None)
    if not settings.es_verify_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
