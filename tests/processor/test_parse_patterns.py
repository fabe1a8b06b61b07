"""Named parse patterns: compiling and checking them, parsing with them, and the setting that holds them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from logfleet.core.config import load_settings
from logfleet.core.errors import ConfigError
from processor.daemon import builder_for
from processor.events import EventBuilder
from processor.parse import compile_named_patterns, parse_line, use_named_patterns
from tests.support import bare_cli, bare_env

ORDERS = r"^(?P<timestamp>\S+ \S+) \[(?P<level>\w+)\] (?P<logger>[\w.]+) pid=(?P<pid>\S+) (?P<message>.*)$"
ACCESS = (
    r"^(?P<client__ip>\S+) (?P<http__request__method>[A-Z]+) (?P<url__original>\S+) "
    r"(?P<http__response__status_code>\S+) tenant=(?P<labels__tenant>\w+)(?: (?P<message>.*))?$"
)


@pytest.fixture
def patterns() -> Iterator[None]:
    use_named_patterns({"orders": ORDERS, "edge-access": ACCESS})
    yield
    use_named_patterns({})


@pytest.mark.usefixtures("patterns")
def test_a_named_pattern_fills_ecs_fields() -> None:
    parsed = parse_line("2026-12-03 05:54:01.123 [WARNING] shop.orders pid=42 order 7 is late", "orders")
    assert parsed.format == "orders"
    assert parsed.stated_time == "2026-12-03 05:54:01.123"
    assert parsed.fields == {
        "message": "order 7 is late",
        "log": {"level": "warn", "logger": "shop.orders"},
        "process": {"pid": 42},
    }


@pytest.mark.usefixtures("patterns")
def test_values_that_do_not_fit_their_field_go_under_app() -> None:
    parsed = parse_line("2026-12-03 05:54:01.123 [LOUD] shop.orders pid=x42 hello", "orders")
    assert parsed.fields == {
        "message": "hello",
        "log": {"logger": "shop.orders"},
        "app": {"level": "LOUD", "pid": "x42"},
    }
    edge = parse_line("not-an-ip GET /x 200 tenant=acme", "edge-access").fields
    assert edge == {
        "message": "",
        "http": {"request": {"method": "GET"}, "response": {"status_code": 200}},
        "url": {"original": "/x"},
        "labels": {"tenant": "acme"},
        "app": {"client__ip": "not-an-ip"},
    }


@pytest.mark.usefixtures("patterns")
def test_a_line_the_pattern_does_not_match_is_plain_text() -> None:
    parsed = parse_line("ERROR something else", "orders")
    assert parsed.format == "plain" and parsed.fields == {"message": "ERROR something else", "log": {"level": "error"}}


@pytest.mark.usefixtures("patterns")
def test_the_container_label_picks_the_pattern() -> None:
    line = [1_709_294_400_000_000_000, 0, "stdout", "2026-12-03 05:54:01.123 [INFO] shop.orders pid=1 ok", []]
    record = {"v": 1, "host": "h", "container": {"id": "c1", "labels": {"logfleet.parser": "orders"}}, "lines": [line]}
    body = EventBuilder("ns").bulk_lines(record).events
    assert b'"format":"orders"' in body and b'"message":"ok"' in body
    record["container"] = {"id": "c1", "labels": {}}
    assert b'"format":"plain"' in EventBuilder("ns").bulk_lines(record).events


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ({"x": "(?P<message>.*"}, "not a regular expression"),
        ({"x": r"(?P<message>.*) (?P<msg>.*)"}, "no known field"),
        ({"x": r"(?P<level>\w+)"}, "no (?P<message>...) group"),
        ({"x": r"(?P<message>.*) (?P<client__ipaddr>\S+)"}, "client.ipaddr"),
        ({"json": r"(?P<message>.*)"}, "built-in parser"),
        ({"Bad Name": r"(?P<message>.*)"}, "a name is"),
        ({"x": 5}, "must be a regular expression"),
        ('["not", "an", "object"]', "not a JSON object"),
        ("{broken", "not a JSON object"),
    ],
)
def test_bad_patterns_are_refused_with_the_reason(spec: object, fault: str) -> None:
    with pytest.raises(ConfigError, match="parse_patterns") as raised:
        compile_named_patterns(spec)  # type: ignore[arg-type]
    assert fault in str(raised.value)
    assert raised.value.exit_code == 2


def test_patterns_come_from_a_toml_table_or_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "logfleet.toml"
    config.write_text("[parse_patterns]\norders = '''" + ORDERS + "'''\n")
    settings = load_settings(str(config), bare_env())
    assert compile_named_patterns(settings.parse_patterns).keys() == {"orders"}
    from_env = load_settings(None, bare_env(LOGFLEET_PARSE_PATTERNS='{"x": "(?P<message>.*)"}'))
    assert compile_named_patterns(from_env.parse_patterns).keys() == {"x"}
    bad = load_settings(None, bare_env(LOGFLEET_PARSE_PATTERNS='{"x": "(?P<nope>.*)"}'))
    with pytest.raises(ConfigError, match="pattern 'x'"):  # the processor refuses to start with it
        builder_for(bad)


def test_config_check_names_the_bad_pattern(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[parse_patterns]\nshop = '(?P<message>.*'\n")
    result = bare_cli("config", "check", str(config))
    assert result.returncode == 2
    assert "pattern 'shop'" in result.stderr and "not a regular expression" in result.stderr
