"""Settings for every part, from defaults, the local stack's record, a TOML file and the environment.

Precedence, lowest first: built-in defaults, the settings recorded by ``logfleet stack up``, the TOML
file (``--config`` or ``LOGFLEET_CONFIG``), then ``DOCKER_HOST`` and ``LOGFLEET_*`` environment variables.
Every field of :class:`Settings` can be set in the file under its own name and in the environment as
``LOGFLEET_<NAME>`` (upper case). Credentials can instead be read from a file named by ``<name>_file``
(``LOGFLEET_ES_PASSWORD_FILE``, the Docker/Kubernetes secrets convention), so they never have to be on a
command line; the security settings are checked together by :func:`check_security`, and secret
values never appear in ``repr`` or in error messages.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from logfleet.core.errors import ConfigError


def default_stack_dir() -> Path:
    """Where ``logfleet stack up`` keeps its servers' data (short, because of Unix socket limits)."""
    return Path(os.environ.get("LOGFLEET_STACK_DIR", "/var/tmp/logfleet"))


MASK = "***"
SECRET_FIELDS = frozenset({"kafka_sasl_password", "es_password", "es_api_key"})
# Settings that may also be read from a file named by ``<name>_file`` (Docker/Kubernetes secrets).
FILE_FIELDS = ("kafka_sasl_username", "kafka_sasl_password", "es_username", "es_password", "es_api_key")
KAFKA_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclasses.dataclass(frozen=True)
class Settings:
    """The effective configuration of one logfleet process."""

    docker_host: str = "unix:///var/run/docker.sock"
    kafka_bootstrap: str = "127.0.0.1:9092"
    es_url: str = "http://127.0.0.1:9200"
    topic_raw: str = "logs.raw"
    topic_events: str = "logs.events"
    topic_dlq: str = "logs.dlq"
    topic_partitions: int = 6
    topic_replication_factor: int = 3
    topic_min_insync_replicas: int = 2
    namespace: str = "default"
    host_name: str = dataclasses.field(default_factory=socket.gethostname)
    state_dir: str = "/var/lib/logfleet"
    processor_group: str = "logfleet-processor"
    indexer_group: str = "logfleet-indexer"
    compression: str = "zstd"
    max_line_bytes: int = 1024 * 1024
    batch_lines: int = 1000
    batch_bytes: int = 512 * 1024
    flush_interval_s: float = 0.2
    multiline_flush_s: float = 1.0
    checkpoint_interval_s: float = 0.25
    include: str = ""
    exclude: str = ""
    bulk_docs: int = 2000
    bulk_bytes: int = 8 * 1024 * 1024
    bulk_interval_s: float = 1.0
    log_level: str = "info"
    metrics_port: int = 9464
    format_policy: str = "warn"
    format_policy_services: str = ""
    format_max_line_bytes: int = 64 * 1024
    format_max_future_s: float = 300.0
    event_time_max_past_s: float = 30 * 86_400.0
    mask_patterns: str = ""
    parse_patterns: str = ""  # JSON object name -> regex; a [parse_patterns] table in the TOML file
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str = "PLAIN"
    kafka_sasl_username: str = ""
    kafka_sasl_password: str = ""
    kafka_ssl_cafile: str = ""
    kafka_ssl_certfile: str = ""
    kafka_ssl_keyfile: str = ""
    es_username: str = ""
    es_password: str = ""
    es_api_key: str = ""
    es_ca_certs: str = ""
    es_verify_certs: bool = True

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict, with credentials in URLs and secret settings masked."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if key in SECRET_FIELDS and value:
                out[key] = MASK
            elif isinstance(value, str) and "@" in value and "://" in value:
                scheme, rest = value.split("://", 1)
                out[key] = f"{scheme}://{MASK}@{rest.split('@', 1)[1]}"
        return out

    def __repr__(self) -> str:
        """Like the dataclass repr, but with secrets masked (settings end up in tracebacks and logs)."""
        fields = ", ".join(f"{key}={value!r}" for key, value in self.redacted().items())
        return f"Settings({fields})"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


_BOOLS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
FILE_SUFFIX = "_file"
ENV = "environment"


PARSE_PATTERNS = "parse_patterns"


def _coerce(name: str, raw: Any) -> Any:
    if name == PARSE_PATTERNS and isinstance(raw, Mapping):  # a TOML table: kept as its JSON text
        return orjson.dumps(dict(raw)).decode()
    kind = _FIELDS[name].type
    try:
        if kind == "bool":
            return raw if isinstance(raw, bool) else _BOOLS[str(raw).strip().lower()]
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except (TypeError, ValueError, KeyError) as exc:  # secrets are str settings: never echoed here
        raise ConfigError(f"setting {name!r}: {raw!r} is not a {kind}") from exc
    return str(raw)


def file_setting(key: str) -> str | None:
    """The setting a ``<name>_file`` key reads from a file (credentials only), else None."""
    name = key.removesuffix(FILE_SUFFIX)
    return name if key.endswith(FILE_SUFFIX) and name in FILE_FIELDS else None


def _read_secret(key: str, path: Any) -> str:
    """The content of the file a ``*_file`` setting names, without its trailing newline."""
    try:
        with open(str(path), encoding="utf-8") as fh:
            return fh.read().rstrip("\r\n")
    except OSError as exc:
        raise ConfigError(f"setting {key!r}: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"setting {key!r}: {path} is not UTF-8 text") from None


def _from_mapping(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in values.items():
        target = file_setting(key)
        if target is not None:
            if target in values:
                both = (f"LOGFLEET_{target.upper()}", f"LOGFLEET_{key.upper()}") if origin == ENV else (target, key)
                raise ConfigError(f"{origin}: set either {both[0]!r} or {both[1]!r}, not both")
            out[target] = _read_secret(key, raw)
            continue
        if key not in _FIELDS:
            raise ConfigError(f"{origin}: unknown setting {key!r}")
        out[key] = _coerce(key, raw)
    return out


def read_stack_record(stack_dir: Path | None = None) -> dict[str, Any]:
    """The connection settings ``logfleet stack up`` recorded, or an empty dict."""
    path = (stack_dir or default_stack_dir()) / "stack.json"
    try:
        record = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    settings = record.get("settings", {})
    return dict(settings) if isinstance(settings, dict) else {}


def load_settings(config_file: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build the effective settings; raises ConfigError naming the bad key or file."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    stack = read_stack_record(Path(env["LOGFLEET_STACK_DIR"]) if "LOGFLEET_STACK_DIR" in env else None)
    values.update(_from_mapping(stack, "stack record"))
    config_file = config_file or env.get("LOGFLEET_CONFIG")
    if config_file:
        try:
            with open(config_file, "rb") as fh:
                values.update(_from_mapping(tomllib.load(fh), config_file))
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config_file}: {exc}") from exc
    if "DOCKER_HOST" in env:
        values["docker_host"] = env["DOCKER_HOST"]
    from_env = {name: env[f"LOGFLEET_{name.upper()}"] for name in _FIELDS if f"LOGFLEET_{name.upper()}" in env}
    for name in FILE_FIELDS:
        key = f"LOGFLEET_{name.upper()}{FILE_SUFFIX.upper()}"
        if key in env:
            from_env[name + FILE_SUFFIX] = env[key]
    values.update(_from_mapping(from_env, ENV))
    settings = Settings(**values)
    _check_topics(settings)
    check_security(settings)
    return settings


def _check_topics(settings: Settings) -> None:
    if settings.topic_partitions < 1 or settings.topic_replication_factor < 1:
        raise ConfigError("topic_partitions and topic_replication_factor must be at least 1")
    if not 1 <= settings.topic_min_insync_replicas <= settings.topic_replication_factor:
        raise ConfigError(f"topic_min_insync_replicas ({settings.topic_min_insync_replicas}) must be between 1 "
                          f"and topic_replication_factor ({settings.topic_replication_factor})")


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


def check_security(settings: Settings) -> None:
    """Raise ConfigError for a combination of security settings that cannot work (never quoting a secret)."""
    _check_kafka(settings)
    _check_es(settings)
