"""The command line: every command explains itself, and mistakes end in one line and an exit code."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from logfleet.cli import cli
from tests.support import bare_cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("path", _commands(cli), ids=lambda p: " ".join(p) or "logfleet")
def test_every_command_has_a_help_that_explains_it(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], obj={}, prog_name="logfleet")
    assert result.exit_code == 0, result.output
    assert "Usage: logfleet" in result.output
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    assert command.help and len(command.help.split()) >= 5, f"{path}: help too thin: {command.help!r}"



@pytest.mark.parametrize(
    ("args", "env", "code", "says"),
    [
        (["audit", "search", "--since", "yesterday-ish"], {}, 7, "bad time expression"),
        (["audit", "search"], {"LOGFLEET_ES_URL": "http://127.0.0.1:1"}, 4, "unreachable"),
        (["setup"], {"LOGFLEET_KAFKA_BOOTSTRAP": "127.0.0.1:1"}, 4, "Kafka at 127.0.0.1:1 unreachable"),
        (["setup"], {"LOGFLEET_TOPIC_PARTITIONS": "many"}, 2, "'many' is not a int"),
        (["--config", "/nonexistent/logfleet.toml", "setup"], {}, 2, "cannot read config file"),
    ],
    ids=["bad-time", "es-unreachable", "kafka-unreachable", "bad-setting", "missing-config"],
)
def test_errors_are_one_line_with_a_distinct_exit_code(
    args: list[str], env: dict[str, str], code: int, says: str
) -> None:
    result = bare_cli(*args, **env)
    assert result.returncode == code, result.stderr
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_a_wrong_argument_is_a_usage_error_not_a_traceback() -> None:
    result = bare_cli("audit", "search", "--limit", "0")
    assert result.returncode == 2
    assert "Invalid value for '--limit'" in result.stderr and "Traceback" not in result.stderr


def test_unknown_key_in_the_config_file_is_named(tmp_path: object) -> None:
    from pathlib import Path

    config = Path(str(tmp_path)) / "logfleet.toml"
    config.write_text('es_url = "http://127.0.0.1:9200"\nkafka_bootstrapp = "x:1"\n')
    result = bare_cli("--config", str(config), "setup")
    assert result.returncode == 2
    assert "unknown setting 'kafka_bootstrapp'" in result.stderr


def test_credentials_in_the_elasticsearch_url_are_never_printed() -> None:
    result = bare_cli("audit", "search", LOGFLEET_ES_URL="http://auditor:s3cret-pw@127.0.0.1:1")
    assert result.returncode == 4
    assert "s3cret-pw" not in result.stderr and "auditor" not in result.stderr
    assert "***@127.0.0.1:1" in result.stderr


@pytest.mark.parametrize("bench", [["processor", "--records", "1000"], ["indexer", "--docs", "1000"],
                                   ["idle", "--seconds", "5"]])
def test_the_config_file_reaches_the_benchmarks_too(tmp_path: Path, bench: list[str]) -> None:
    config = tmp_path / "logfleet.toml"
    config.write_text('kafka_bootstrap = "127.0.0.1:1"\nes_url = "http://127.0.0.1:1"\n')
    result = bare_cli("--config", str(config), "bench", *bench, "--runs", "1")
    assert result.returncode == 4, result.stderr
    assert "127.0.0.1:1" in result.stderr and "Traceback" not in result.stderr
