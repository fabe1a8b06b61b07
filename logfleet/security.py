"""Security settings turned into client arguments: Kafka TLS and SASL, Elasticsearch TLS and auth.

Every Kafka client (producer, consumer, admin) takes :func:`kafka_options` and every Elasticsearch
client :func:`es_options` (raw HTTP callers :func:`es_headers` and :func:`es_ssl`), so one place
decides how logfleet authenticates. :func:`check` validates the combination of settings once, when
they are loaded, with a :class:`~logfleet.errors.ConfigError` naming the settings at fault; secret
values (:data:`SECRET_FIELDS`) are never part of a message. Kafka TLS and SASL_SSL/SCRAM are tested
against a real Apache Kafka broker with ACLs; Elasticsearch TLS and auth through a TLS-terminating
proxy in front of the local stand-in.
"""

from __future__ import annotations

import base64
import os
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from logfleet.errors import ConfigError

if TYPE_CHECKING:
    from logfleet.config import Settings

MASK = "***"
SECRET_FIELDS = frozenset({"kafka_sasl_password", "es_password", "es_api_key"})
# Settings that may also be read from a file named by ``<name>_file`` (Docker/Kubernetes secrets).
FILE_FIELDS = ("kafka_sasl_username", "kafka_sasl_password", "es_username", "es_password", "es_api_key")
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


def _readable(name: str, path: str) -> None:
    if path and not (os.path.isfile(path) and os.access(path, os.R_OK)):
        raise ConfigError(f"setting {name!r}: {path} is not a readable file")


def _check_kafka(settings: Settings) -> None:
    protocol = settings.kafka_security_protocol
    if protocol not in KAFKA_PROTOCOLS:
        raise ConfigError(f"setting 'kafka_security_protocol': {protocol!r} is not one of {', '.join(KAFKA_PROTOCOLS)}")
    mechanism = settings.kafka_sasl_mechanism
    if mechanism not in SASL_MECHANISMS:
        raise ConfigError(f"setting 'kafka_sasl_mechanism': {mechanism!r} is not one of {', '.join(SASL_MECHANISMS)}")
    sasl = protocol.startswith("SASL_")
    if sasl and not (settings.kafka_sasl_username and settings.kafka_sasl_password):
        raise ConfigError(
            f"kafka_security_protocol {protocol} with SASL mechanism {settings.kafka_sasl_mechanism} needs "
            "kafka_sasl_username and kafka_sasl_password"
        )
    if not sasl and (settings.kafka_sasl_username or settings.kafka_sasl_password):
        raise ConfigError(
            f"kafka_sasl_username/kafka_sasl_password are set but kafka_security_protocol is {protocol}: "
            "use SASL_SSL (or SASL_PLAINTEXT)"
        )
    tls_files = {
        name: getattr(settings, name) for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
    }
    if protocol not in ("SSL", "SASL_SSL") and any(tls_files.values()):
        used = ", ".join(name for name, value in tls_files.items() if value)
        raise ConfigError(f"{used} set but kafka_security_protocol is {protocol}: use SSL or SASL_SSL")
    if settings.kafka_ssl_keyfile and not settings.kafka_ssl_certfile:
        raise ConfigError("kafka_ssl_keyfile is set without kafka_ssl_certfile (the client certificate)")
    for name, path in tls_files.items():
        _readable(name, path)


def _check_es(settings: Settings) -> None:
    parts = urlsplit(settings.es_url)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(f"setting 'es_url': the scheme must be http or https, not {parts.scheme!r}")
    if settings.es_api_key and (settings.es_username or settings.es_password):
        raise ConfigError("es_api_key and es_username/es_password are both set: use one of them")
    if bool(settings.es_username) != bool(settings.es_password):
        missing = "es_password" if settings.es_username else "es_username"
        raise ConfigError(f"basic auth needs both es_username and es_password: {missing} is not set")
    if (settings.es_api_key or settings.es_username) and (parts.username or parts.password):
        raise ConfigError("credentials are set both in es_url and in es_username/es_api_key: use one place")
    if parts.scheme != "https" and settings.es_ca_certs:
        raise ConfigError("es_ca_certs is set but es_url is not https://")
    _readable("es_ca_certs", settings.es_ca_certs)


def check(settings: Settings) -> None:
    """Raise ConfigError for a combination of security settings that cannot work (never quoting a secret)."""
    _check_kafka(settings)
    _check_es(settings)


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
