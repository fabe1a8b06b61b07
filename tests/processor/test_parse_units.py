"""Unit tests of the line parsers: level mapping, detection, each format's corners, hostile input."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

import processor.parse as parse_pkg
from processor.parse import Parsed, parse_line
from processor.parse.access import is_ip
from processor.parse.levels import LEVELS, level_from_severity, level_from_status, normalise_level
from processor.parse.logfmt import decode_logfmt, unquote
from processor.parse.plain import sniff_level

# --- levels -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "level"),
    [
        ("trace", "trace"),
        ("DEBUG", "debug"),
        ("Info", "info"),
        (" info ", "info"),
        ("notice", "info"),
        ("warn", "warn"),
        ("WARNING", "warn"),
        ("err", "error"),
        ("ERROR", "error"),
        ("fatal", "fatal"),
        ("critical", "fatal"),
        ("CRIT", "fatal"),
        ("emerg", "fatal"),
        ("alert", "fatal"),
        ("panic", "fatal"),
        ("dpanic", "fatal"),
        ("Information", "info"),
        ("critical", "fatal"),
        ("Warning", "warn"),
        ("Err", "error"),
        ("crit", "fatal"),
        ("notice", "info"),
        (10, "trace"),
        (20, "debug"),
        (30, "info"),
        (40, "warn"),
        (50, "error"),
        (60, "fatal"),
        (35, "info"),
        ("30", "info"),
        (30.0, "info"),
    ],
)
def test_normalise_level(raw: Any, level: str) -> None:
    assert normalise_level(raw) == level


@pytest.mark.parametrize(
    "raw", ["", "loud", "default", 0, 5, 9, 70, 100, -10, 30.5, True, False, None, [], {}, "\uff13\uff10", "x" * 100]
)
def test_normalise_level_rejects(raw: Any) -> None:
    assert normalise_level(raw) is None


def test_level_from_severity_and_status() -> None:
    assert [level_from_severity(code) for code in range(8)] == [
        "fatal",
        "fatal",
        "fatal",
        "error",
        "warn",
        "info",
        "info",
        "debug",
    ]
    assert level_from_status(200) == "info"
    assert level_from_status(304) == "info"
    assert level_from_status(404) == "warn"
    assert level_from_status(499) == "warn"
    assert level_from_status(500) == "error"
    assert set(LEVELS) == {"trace", "debug", "info", "warn", "error", "fatal"}


# --- detection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fmt"),
    [
        ('{"msg":"x"}', "json"),
        ('\t {"msg":"x"}', "json"),
        ("<13>1 2024-01-01T00:00:00Z h a - - - m", "syslog-5424"),
        ("<13>Jan  1 00:00:00 h a: m", "syslog-3164"),
        ("Jan  1 00:00:00 h a[1]: m", "syslog-3164"),
        ("2024-01-01T00:00:00Z h a[1]: m", "syslog-3164"),
        ("a=1 b=2", "logfmt"),
        ('1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1', "access"),
        ("hello", "plain"),
        ("", "plain"),
    ],
)
def test_detection(line: str, fmt: str) -> None:
    assert parse_line(line).format == fmt


@pytest.mark.parametrize("end", ["\n", "\r\n", "\r"])
def test_line_ends_are_ignored_by_structured_parsers(end: str) -> None:
    for line, fmt in [
        ('{"msg":"x"}', "json"),
        ("a=1 b=2", "logfmt"),
        ('1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "curl/8"', "access"),
        ("<13>Jan  1 00:00:00 h a: m", "syslog-3164"),
        ("<13>1 - - - - - - m", "syslog-5424"),
    ]:
        with_end = parse_line(line + end)
        assert with_end.format == fmt
        assert with_end.fields == parse_line(line).fields
    assert parse_line("ERROR x" + end).fields == {"message": "ERROR x" + end, "log": {"level": "error"}}


def test_plain_text_runs_no_structured_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a structured parser ran on plain text")

    for name in ("parse_json", "parse_syslog", "parse_logfmt", "parse_access", "parse_rfc3164"):
        monkeypatch.setattr(parse_pkg, name, refuse)
    for line in ("Starting server on port 8080", "\tat com.example.Foo(Foo.java:1)", "", "panic: boom"):
        assert parse_line(line).format == "plain"


def test_parse_line_never_raises_even_on_a_parser_bug(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str) -> Parsed:
        raise RuntimeError("bug")

    monkeypatch.setattr(parse_pkg, "parse_json", broken)
    assert parse_line('{"a":1}') == Parsed("plain", {"message": '{"a":1}'})


def test_fields_are_fresh_on_every_call() -> None:
    for line in ('{"level":"info","msg":"m","labels":{"a":"b"}}', "<13>Jan  1 00:00:00 h a: m", "ERROR x"):
        first = parse_line(line)
        first.fields["log"]["level"] = "changed"
        first.fields["message"] = "changed"
        second = parse_line(line)
        assert second.fields["message"] != "changed"
        assert second.fields["log"]["level"] != "changed"


# --- hostile input ----------------------------------------------------------------------------

HUGE = 10 * 1024 * 1024


@pytest.mark.parametrize(
    "line",
    [
        "",
        " ",
        "   \t  ",
        "\n",
        "\r\n",
        "\x00",
        "a\x00b",
        '{"msg":"a\\u0000b"}',
        "\ufffd\ufffd",
        "\ud800",
        "x\udfffy",
        '{"msg":"\ud800"}',
        "level=info msg=\ud800",
        "<13>\ud800",
        "\ufeff{}",
        "{" * 5000,
        "<" * 5000,
        "=" * 5000,
        "[" * 5000,
        '] "' * 5000,
    ],
)
def test_hostile_lines(line: str) -> None:
    parsed = parse_line(line)
    assert isinstance(parsed.fields["message"], str)
    assert parsed.format in {"json", "logfmt", "access", "syslog-3164", "syslog-5424", "plain"}


def test_nul_bytes_and_replacement_characters_are_kept() -> None:
    assert parse_line("a\x00b").fields == {"message": "a\x00b"}
    assert parse_line("\ufffd ERROR \ufffd").fields == {"message": "\ufffd ERROR \ufffd", "log": {"level": "error"}}
    parsed = parse_line('{"msg":"a\\u0000b \ufffd"}')
    assert parsed.format == "json"
    assert parsed.fields["message"] == "a\x00b \ufffd"


def test_lone_surrogates_are_plain_text() -> None:
    line = '{"msg":"\ud800"}'
    assert parse_line(line) == Parsed("plain", {"message": line})


@pytest.mark.parametrize("depth", [10_000, 1_025])
def test_deep_json_is_plain_text(depth: int) -> None:
    line = '{"a":' * depth + "1" + "}" * depth
    parsed = parse_line(line)
    assert parsed.format == "plain"
    assert parsed.fields["message"] == line
    assert parsed.document is None


def test_json_nesting_under_the_limit_is_json() -> None:
    line = '{"a":' * 1000 + "1" + "}" * 1000
    parsed = parse_line(line)
    assert parsed.format == "json"
    assert parsed.fields["message"] == line


def test_huge_lines() -> None:
    text = "x" * HUGE
    assert parse_line(text).fields == {"message": text}
    blob = "y" * HUGE
    parsed = parse_line(json.dumps({"level": "warn", "msg": blob}))
    assert parsed.format == "json"
    assert parsed.fields["message"] == blob
    assert parsed.fields["log"] == {"level": "warn"}
    logfmt = "level=info msg=" + "z" * HUGE
    parsed = parse_line(logfmt)
    assert parsed.format == "logfmt"
    assert len(parsed.fields["message"]) == HUGE
    access = '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET /' + "a" * HUGE + ' HTTP/1.1" 200 1'
    parsed = parse_line(access)
    assert parsed.format == "access"
    assert len(parsed.fields["url"]["original"]) == HUGE + 1
    syslog = "<13>Jan  1 00:00:00 host app: " + "m" * HUGE
    assert parse_line(syslog).format == "syslog-3164"
    broken = "{" + " " * HUGE
    assert parse_line(broken).format == "plain"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "line",
    [
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "' + "\\" * 200_000,
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET ' + " " * 200_000 + '" 200 1',
        "a=" + '"\\' * 100_000,
        "a=b " * 100_000 + "c",
        "<1>1 " + "x " * 100_000,
        '<1>1 - - - - - [a b="' + "\\" * 100_000,
        "Jan  1 00:00:00 " + "h" * 200_000,
        "2024-01-01T00:00:00Z " + "h " * 100_000,
        "<13>" + "[" * 200_000,
        "ERROR " * 200_000,
    ],
)
def test_no_catastrophic_backtracking(line: str) -> None:
    assert isinstance(parse_line(line).fields["message"], str)


# --- JSON -------------------------------------------------------------------------------------


def test_json_document_is_the_decoded_object() -> None:
    line = '{"@timestamp":"2024-01-01T00:00:00Z","log":{"level":"ERROR","logger":"x"},"a":{"b":[1,2]}}'
    parsed = parse_line(line)
    assert parsed.document == orjson.loads(line)
    assert parsed.fields == {
        "message": line,
        "log": {"level": "error", "logger": "x"},
        "app": {"a": {"b": [1, 2]}},
    }
    assert parsed.stated_time == "2024-01-01T00:00:00Z"
    assert parsed.has_message is False


@pytest.mark.parametrize("line", ["[1]", "1", '"s"', "null", "true", "{", '{"a":1', '{"a":1}}', "{'a':1}"])
def test_json_that_is_not_an_object_is_plain(line: str) -> None:
    assert parse_line(line) == Parsed("plain", {"message": line})


def test_dotted_and_nested_keys_tie_and_the_first_wins() -> None:
    parsed = parse_line('{"log":{"level":"debug","x":1},"log.level":"warn","msg":"m"}')
    assert parsed.fields == {"message": "m", "log": {"level": "debug"}, "app": {"log": {"x": 1}, "log.level": "warn"}}
    parsed = parse_line('{"log.level":"warn","log":{"level":"debug","x":1},"msg":"m"}')
    assert parsed.fields == {"message": "m", "log": {"level": "warn"}, "app": {"log": {"level": "debug", "x": 1}}}


def test_better_alias_wins_whatever_the_order() -> None:
    for line in ('{"msg":"b","message":"a"}', '{"message":"a","msg":"b"}'):
        assert parse_line(line).fields == {"message": "a", "app": {"msg": "b"}}
    parsed = parse_line('{"severity":"info","lvl":"warn","level":"error","msg":"m"}')
    assert parsed.fields["log"] == {"level": "error"}
    assert parsed.fields["app"] == {"severity": "info", "lvl": "warn"}


def test_the_stated_time_is_kept_as_written() -> None:
    for raw in ("17/May/2015:10:05:03 +0000", "2016-01-07T16:49:10.0", "not a time", "1709294400"):
        parsed = parse_line(orjson.dumps({"time": raw, "msg": "m"}).decode())
        assert parsed.stated_time == raw
        assert "time" not in parsed.fields.get("app", {})
    assert parse_line('{"ts":1709294400,"msg":"m"}').stated_time == 1709294400
    assert parse_line('{"ts":1709294400.25,"msg":"m"}').stated_time == 1709294400.25
    for wrong in ('{"ts":{"s":1},"msg":"m"}', '{"ts":true,"msg":"m"}', '{"ts":"","msg":"m"}'):
        parsed = parse_line(wrong)
        assert parsed.stated_time is None
        assert "ts" in parsed.fields["app"]  # a value of the wrong type stays in app


# --- logfmt -----------------------------------------------------------------------------------


def test_logfmt_decoding() -> None:
    assert decode_logfmt('a=1 b="two words" c= d="x\\"y"') == {"a": "1", "b": "two words", "c": "", "d": 'x"y'}
    assert decode_logfmt("a=1") is None
    assert decode_logfmt("a=1 b") is None
    assert decode_logfmt('a=1 b="open') is None
    assert decode_logfmt('a="x"y b=1') is None
    assert decode_logfmt("a=1\tb=2  ") == {"a": "1", "b": "2"}
    assert unquote('"\\u00e9\\n\\t\\\\\\q"') == "é\n\t\\\\q"
    assert unquote("plain") == "plain"


# --- access -----------------------------------------------------------------------------------


def test_access_vhost_with_port_and_user() -> None:
    line = 'example.com:443 10.1.2.3 - alice [01/Jan/2024:00:00:00 +0000] "POST /login HTTP/2.0" 503 -'
    assert parse_line(line).fields == {
        "message": line,
        "log": {"level": "error"},
        "source": {"address": "10.1.2.3", "ip": "10.1.2.3"},
        "http": {"response": {"status_code": 503}, "request": {"method": "POST"}, "version": "2.0"},
        "destination": {"port": 443, "domain": "example.com"},
        "user": {"name": "alice"},
        "url": {"original": "/login"},
    }
    assert parse_line(line).stated_time == "01/Jan/2024:00:00:00 +0000"


def test_access_junk_request_keeps_the_rest() -> None:
    line = '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "\\x16\\x03\\x01" 400 157 "-" "-"'
    fields = parse_line(line).fields
    assert "url" not in fields
    assert "request" not in fields["http"]
    assert fields["http"]["response"] == {"status_code": 400, "body": {"bytes": 157}}


def test_is_ip() -> None:
    assert is_ip("1.2.3.4")
    assert is_ip("::1")
    assert is_ip("2a03:0000:10ff:f00f:0000:0000:0:8000")
    assert not is_ip("monitoring-server")
    assert not is_ip("1.2.3.4:80")
    assert not is_ip("1.2.3")
    assert not is_ip("fe80::1%eth0")
    assert not is_ip("\x00")


# --- plain ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ("ERROR something", "error"),
        ("2024-01-01 12:00:00,123 ERROR x", "error"),
        ("2024-01-01 12:00:00.123 [main] WARN  c.e.F - x", "warn"),
        ("[error] x", "error"),
        ("(Warning) x", "warn"),
        ("Warning: x", "warn"),
        ("fatal: not a git repository", "fatal"),
        ("msg level=debug", "debug"),
        ('{"level":"warn", broken', "warn"),
        ("W0101 00:00:00.000000 1 x.go:1] w", "warn"),
        ("F0101 00:00:00.000000 1 x.go:1] f", "fatal"),
        ("something ERROR then INFO", "error"),
        ("Errors: 0", None),
        ("Error handling request", None),
        ("informational only", None),
        ("com.example.ERROR", None),
        ("WARN-ING", None),
        ("", None),
        # mixed case set apart as a header field, never prose at the start of a line
        ("Info: started", "info"),
        ("12:00:00 Warning disk full", "warn"),
        ("2024-01-01T12:00:00.123Z Error cannot connect", "error"),
        ("2024 | Information | x", "info"),
        ("Warning signs are everywhere", None),
        ("Found 2 Error messages", None),
        # padded brackets (structlog pads to 9)
        ("[info     ] request handled", "info"),
        ("[  ERROR] cannot bind", "error"),
        ("< warning > x", "warn"),
        # PostgreSQL severities
        ("2026-12-03 05:54:01.123 UTC [1] LOG:  x", "info"),
        ("2026-12-03 05:54:01.123 UTC [1] DEBUG3:  x", "debug"),
        ("2026-12-03 05:54:01.123 UTC [1] DETAIL:  x", "info"),
        ("LOG: one blank is not postgres", None),
        # past the first 100 characters: clear tokens only
        ("x" * 150 + " [warn] late bracket", "warn"),
        ("x" * 150 + " level=error late pair", "error"),
        ("x" * 150 + " FATAL late capitals", "fatal"),
        ("x" * 150 + " the error was handled", None),
        ("x" * 2000 + " ERROR too far", None),
    ],
)
def test_sniff_level(line: str, level: str | None) -> None:
    assert sniff_level(line) == level
