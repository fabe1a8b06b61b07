"""``logfleet config show`` and ``logfleet config check`` through the real CLI in a subprocess.

No servers are needed: the environment is controlled (no LOGFLEET_* from the caller, a stack
directory that does not exist, so no stack record is read) and the settings file is written here.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import orjson
import pytest

from logfleet.commands.config import masked
from logfleet.core.config import Settings
from tests.support import bare_cli


def _show(*args: str, fmt: str = "json", **env: str) -> dict[str, object]:
    result = bare_cli(*args, "config", "show", "--format", fmt, **env)
    assert result.returncode == 0, result.stderr
    return dict(orjson.loads(result.stdout)) if fmt == "json" else tomllib.loads(result.stdout)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "logfleet.toml"
    path.write_text(
        'namespace = "staging"\n'
        "topic_partitions = 12\n"
        'es_url = "https://indexer:s3cr3t-pw@es.example:9200"\n'
        "bulk_interval_s = 2.5\n"
    )
    return path


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_show_prints_every_setting_with_defaults(fmt: str) -> None:
    shown = _show(fmt=fmt)
    defaults = dataclasses.asdict(Settings())
    assert set(shown) == set(defaults)
    for key, value in defaults.items():
        if key != "host_name":
            assert shown[key] == value, key
    assert isinstance(shown["topic_partitions"], int) and isinstance(shown["flush_interval_s"], float)


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_file_overrides_defaults_and_env_overrides_file(config_file: Path, fmt: str) -> None:
    from_file = _show("--config", str(config_file), fmt=fmt)
    assert from_file["namespace"] == "staging"
    assert from_file["topic_partitions"] == 12
    assert from_file["bulk_interval_s"] == 2.5
    assert from_file["topic_raw"] == "logs.raw"  # not in the file: the default

    overridden = _show(
        fmt=fmt,
        LOGFLEET_CONFIG=str(config_file),
        LOGFLEET_NAMESPACE="prod",
        LOGFLEET_TOPIC_PARTITIONS="24",
        DOCKER_HOST="tcp://10.0.0.5:2375",
    )
    assert overridden["namespace"] == "prod"
    assert overridden["topic_partitions"] == 24
    assert overridden["docker_host"] == "tcp://10.0.0.5:2375"
    assert overridden["bulk_interval_s"] == 2.5  # the file still counts where env says nothing


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_show_masks_credentials(config_file: Path, fmt: str) -> None:
    result = bare_cli("--config", str(config_file), "config", "show", "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert "s3cr3t-pw" not in result.stdout and "indexer:" not in result.stdout
    shown = orjson.loads(result.stdout) if fmt == "json" else tomllib.loads(result.stdout)
    assert shown["es_url"] == "https://***@es.example:9200"


def test_settings_named_like_secrets_are_masked() -> None:
    @dataclasses.dataclass(frozen=True)
    class WithSecrets(Settings):
        kibana_password: str = "hunter2"
        api_token: str = "tok-123"
        es_api_key: str = "key-456"
        client_secret: str = ""  # empty: nothing to hide, shown as empty

    shown = masked(WithSecrets())
    assert shown["kibana_password"] == shown["api_token"] == shown["es_api_key"] == "***"
    assert shown["client_secret"] == ""
    assert shown["namespace"] == "default"


def test_check_accepts_a_good_file(config_file: Path) -> None:
    result = bare_cli("config", "check", str(config_file))
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, "ok", "")


def test_check_ignores_the_environment(config_file: Path) -> None:
    result = bare_cli("config", "check", str(config_file), LOGFLEET_TOPIC_PARTITIONS="many")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('namespace = "x"\nnamespaec = "y"\n', "unknown setting 'namespaec' (line 2)"),
        ('namespace = "x"\n\ntopic_partitions = "six"\n', ":3: setting 'topic_partitions': 'six' is not a int"),
        ("flush_interval_s = 1.5\nbulk_interval_s = \"soon\"\n", ":2: setting 'bulk_interval_s'"),
        ('include = ["name:web*"]\n', ":1: setting 'include': an array is not a str"),
        ("namespace = \n", "Invalid value (at line 1"),
    ],
    ids=["unknown-key", "wrong-int", "wrong-float", "array", "not-toml"],
)
def test_check_names_the_bad_key_in_one_line(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    result = bare_cli("config", "check", str(path))
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("logfleet: ") and str(path) in lines[0]
    assert says in lines[0], lines[0]


def test_check_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    result = bare_cli("config", "check", str(missing))
    assert result.returncode == 2
    assert result.stderr.strip() == f"logfleet: cannot read config file {missing}: No such file or directory"


def test_show_with_a_bad_file_fails_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("colour = 'blue'\n")
    result = bare_cli("--config", str(path), "config", "show")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == f"logfleet: {path}: unknown setting 'colour'"
