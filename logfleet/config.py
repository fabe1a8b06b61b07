"""Settings for every part, from defaults, the local stack's record, a TOML file and the environment.

Precedence, lowest first: built-in defaults, the settings recorded by ``logfleet stack up``, the TOML
file (``--config`` or ``LOGFLEET_CONFIG``), then ``DOCKER_HOST`` and ``LOGFLEET_*`` environment variables.
Every field of :class:`Settings` can be set in the file under its own name and in the environment as
``LOGFLEET_<NAME>`` (upper case). Credentials can instead be read from a file named by ``<name>_file``
(``LOGFLEET_ES_PASSWORD_FILE``, the Docker/Kubernetes secrets convention), so they never have to be on a
command line; the security settings are checked together by :func:`logfleet.security.check`, and secret
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

import orjson

from logfleet import security
from logfleet.errors import ConfigError


def default_stack_dir() -> Path:
    """Where ``logfleet stack up`` keeps its servers' data (short, because of Unix socket limits)."""
    return Path(os.environ.get("LOGFLEET_STACK_DIR", "/var/tmp/logfleet"))


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
            if key in security.SECRET_FIELDS and value:
                out[key] = security.MASK
            elif isinstance(value, str) and "@" in value and "://" in value:
                scheme, rest = value.split("://", 1)
                out[key] = f"{scheme}://{security.MASK}@{rest.split('@', 1)[1]}"
        return out

    def __repr__(self) -> str:
        """Like the dataclass repr, but with secrets masked (settings end up in tracebacks and logs)."""
        fields = ", ".join(f"{key}={value!r}" for key, value in self.redacted().items())
        return f"Settings({fields})"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


_BOOLS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}
FILE_SUFFIX = "_file"
ENV = "environment"


def _coerce(name: str, raw: Any) -> Any:
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
    return name if key.endswith(FILE_SUFFIX) and name in security.FILE_FIELDS else None


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
    for name in security.FILE_FIELDS:
        key = f"LOGFLEET_{name.upper()}{FILE_SUFFIX.upper()}"
        if key in env:
            from_env[name + FILE_SUFFIX] = env[key]
    values.update(_from_mapping(from_env, ENV))
    settings = Settings(**values)
    security.check(settings)
    return settings
