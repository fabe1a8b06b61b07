"""Settings for every part, from defaults, the local stack's record, a TOML file and the environment.

Precedence, lowest first: built-in defaults, the settings recorded by ``logfleet stack up``, the TOML
file (``--config`` or ``LOGFLEET_CONFIG``), then ``DOCKER_HOST`` and ``LOGFLEET_*`` environment variables.
Every field of :class:`Settings` can be set in the file under its own name and in the environment as
``LOGFLEET_<NAME>`` (upper case).
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
    mask_patterns: str = ""

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict, with credentials in URLs masked."""
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, str) and "@" in value and "://" in value:
                scheme, rest = value.split("://", 1)
                out[key] = f"{scheme}://***@{rest.split('@', 1)[1]}"
        return out


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _coerce(name: str, raw: Any) -> Any:
    kind = _FIELDS[name].type
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: {raw!r} is not a {kind}") from exc
    return str(raw)


def _from_mapping(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in values.items():
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
    for name in _FIELDS:
        key = f"LOGFLEET_{name.upper()}"
        if key in env:
            values[name] = _coerce(name, env[key])
    return Settings(**values)
