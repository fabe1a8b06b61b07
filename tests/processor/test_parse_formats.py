"""Unit tests of the plain-text format parsers: detection, fields, the label-picked parser, joined records.

The golden files (``test_parse_golden.py``) hold whole real files; these tests pin the corners one by one.
"""

from __future__ import annotations

from typing import Any

import pytest

import processor.parse as parse_pkg
from processor.parse import PARSERS, parse_line


def _fields(line: str, parser: str | None = None) -> dict[str, Any]:
    return parse_line(line, parser).fields


@pytest.mark.parametrize(
    ("line", "fmt", "time"),
    [
        ("I1203 05:54:01.123456   12 controller.go:88] synced", "klog", "1203 05:54:01.123456"),
        ("12-03 05:54:01.123  1702  1820 I Tag: msg", "logcat", "12-03 05:54:01.123"),
        ("I/Tag( 1702): msg", "logcat", None),
        ("2026/12/03 05:54:01 [error] 7#7: *3 upstream timed out", "nginx-error", "2026/12/03 05:54:01"),
        ("2026/12/03 05:54:01 listening on :8080", "golog", "2026/12/03 05:54:01"),
        ("[Thu Dec 03 05:54:01.123456 2026] [core:error] [pid 1] AH00126: x", "apache-error", None),
        ("1:M 03 Dec 2026 05:54:01.123 * Ready to accept connections", "redis", "03 Dec 2026 05:54:01.123"),
        ("2026-12-03 05:54:01.123 UTC [1] LOG:  ready", "postgres", "2026-12-03 05:54:01.123 UTC"),
        ("2026-12-03T05:54:01.123456Z 0 [Warning] [MY-010068] [Server] x", "mysql", "2026-12-03T05:54:01.123456Z"),
        ("2026-12-03T05:54:01.123Z  INFO 1 --- [main] o.s.b.Application : Started", "spring", None),
        ("2026-12-03 05:54:01.123  INFO 1 --- [           main] o.s.b.A : Started", "spring", None),
        ("WARNING:root:msg", "python", None),
        ("2026-12-03 05:54:01,123 - app - INFO - msg", "python", "2026-12-03 05:54:01,123"),
        ("09:32:59.948 [main] ERROR o.s.boot.SpringApplication - failed", "logback", "09:32:59.948"),
        ("2026-12-03T05:54:01.123Z\tINFO\tmain.go:1\tok", "zap", None),
        ("I, [2026-12-03T05:54:01.123456 #1]  INFO -- : ok", "ruby", None),
        ("[2026-12-03 05:54:01] local.INFO: ok [] []", "monolog", None),
        ("info: Microsoft.Hosting.Lifetime[14] Now listening", "dotnet", None),
    ],
)
def test_detection_and_stated_time(line: str, fmt: str, time: str | None) -> None:
    parsed = parse_line(line)
    assert parsed.format == fmt
    if time is not None:
        assert parsed.stated_time == time
    assert "time" not in parsed.fields and "app_timestamp" not in parsed.fields  # the time is not a field


@pytest.mark.parametrize(
    "line",
    [
        '1.2.3.4 - - [01/Jan/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 1',  # an access log starts with a digit
        "2024-01-01T00:00:00Z h app[1]: m",  # ISO syslog with a tag
        "12345 items processed",
        "[INFO] plain bracket",
        "Info: not a python level",
        "ERROR: no name after the colon",  # uvicorn-like: "python", message without the level
        "2026/12/03 is not a time",
    ],
)
def test_lines_that_look_close_but_are_other_formats(line: str) -> None:
    parsed = parse_line(line)
    assert parsed.format in {"access", "syslog-3164", "plain", "python"}
    assert isinstance(parsed.fields["message"], str)


def test_nginx_error_context_becomes_ecs_fields() -> None:
    fields = _fields(
        "2026/12/03 05:54:01 [error] 7#7: *3 upstream timed out (110: Connection timed out) while reading response "
        'header from upstream, client: 10.0.0.9, server: shop.example, request: "POST /api/pay HTTP/2.0", '
        'upstream: "http://10.0.1.5:8080/api/pay", host: "shop.example:443", referrer: "https://shop.example/"'
    )
    assert fields["log"] == {"level": "error"}
    assert fields["process"] == {"pid": 7, "thread": {"id": 7}}
    assert fields["nginx"] == {"error": {"connection_id": 3}}
    assert fields["client"] == {"address": "10.0.0.9", "ip": "10.0.0.9"}
    assert fields["server"] == {"domain": "shop.example"}
    assert fields["destination"] == {"address": "10.0.1.5", "ip": "10.0.1.5", "port": 8080}
    assert fields["url"] == {"original": "/api/pay", "domain": "shop.example", "port": 443}
    assert fields["http"] == {"version": "2.0", "request": {"method": "POST", "referrer": "https://shop.example/"}}
    assert fields["message"].startswith("upstream timed out")


def test_apache_client_with_ipv6_and_port() -> None:
    fields = _fields("[Thu May 12 08:28:57.652118 2011] [core:error] [pid 8777:tid 4326490112] [client ::1:58619] x")
    assert fields["client"] == {"address": "::1:58619", "ip": "::1", "port": 58619}
    assert fields["apache"] == {"error": {"module": "core"}}


@pytest.mark.parametrize(
    ("severity", "level"),
    [("LOG", "info"), ("WARNING", "warn"), ("ERROR", "error"), ("FATAL", "fatal"), ("PANIC", "fatal"),
     ("DEBUG1", "debug"), ("NOTICE", "info"), ("DETAIL", "info"), ("HINT", "info"), ("STATEMENT", "info")],
)  # fmt: skip
def test_postgres_severities(severity: str, level: str) -> None:
    assert _fields(f"2026-12-03 05:54:01.123 UTC [1] {severity}:  x")["log"] == {"level": level}


def test_postgres_prefix_pairs_and_unknowns() -> None:
    fields = _fields("2026-12-03 05:54:01 UTC [9]: [3-1] user=app,db=shop,app=psql,client=10.0.0.1 LOG:  ok")
    assert fields["user"] == {"name": "app"}
    assert fields["client"] == {"address": "10.0.0.1", "ip": "10.0.0.1"}
    assert fields["postgresql"] == {"log": {"database": "shop"}}
    unknown = _fields("2017-07-31 13:36:42.956 CEST [4980] [unknown]@[unknown] LOG:  incomplete startup packet")
    assert "user" not in unknown and "postgresql" not in unknown


def test_redis_roles_and_markers() -> None:
    assert _fields("1:S 03 Dec 2026 05:54:01.123 . debug")["redis"] == {"log": {"role": "slave"}}
    assert _fields("1:X 03 Dec 2026 05:54:01.123 # warn")["log"] == {"level": "warn"}
    assert _fields("1:C 03 Dec 2026 05:54:01.123 - verbose")["log"] == {"level": "debug"}


def test_logcat_letters() -> None:
    letters = {"V": "trace", "D": "debug", "I": "info", "W": "warn", "E": "error", "F": "fatal", "A": "fatal"}
    for letter, level in letters.items():
        assert _fields(f"12-03 05:54:01.123  1702  1820 {letter} Tag: m")["log"]["level"] == level
    assert "level" not in _fields("12-03 05:54:01.123  1702  1820 S Tag: m")["log"]


def test_spring_correlation_and_application_name() -> None:
    fields = _fields(
        "2026-12-03T05:54:01.123Z  WARN 1 --- [myapp] [nio-8080-exec-1] "
        "[803B448A0489F84084905D3093480352-3425F23BB2432450] c.e.OrderController : slow"
    )
    assert fields["service"] == {"name": "myapp"}
    assert fields["trace"] == {"id": "803b448a0489f84084905d3093480352"}
    assert fields["span"] == {"id": "3425f23bb2432450"}
    assert fields["process"] == {"thread": {"name": "nio-8080-exec-1"}, "pid": 1}


def test_zap_context_is_mapped_like_json() -> None:
    fields = _fields('2026-12-03T05:54:01.123Z\tERROR\tsvc\tsvc/run.go:9\tfailed\t{"error": "boom", "n": 1}')
    assert fields["message"] == "failed"
    assert fields["log"] == {"level": "error", "origin": {"file": {"name": "svc/run.go", "line": 9}}, "logger": "svc"}
    assert fields["error"] == {"message": "boom"} and fields["app"] == {"n": 1}


def test_golog_slog_level_is_taken_off_the_message() -> None:
    fields = _fields("2022/11/08 15:28:26 WARN disk full free=3")
    assert fields == {"message": "disk full free=3", "log": {"level": "warn"}}
    assert _fields("2022/11/08 15:28:26 INFOS not a level")["message"] == "INFOS not a level"


# --- the parser a container picks -------------------------------------------------------------


def test_a_label_picks_the_parser() -> None:
    line = "2026-12-03 05:54:01.123 UTC [1] LOG:  ready"
    assert parse_line(line, "postgres").format == "postgres"
    assert parse_line(line, "postgresql").format == "postgres"  # an alias
    assert parse_line(line, "klog") == parse_line(line, "plain")  # that parser turns it down: plain text
    assert parse_line(line, "plain").fields["message"] == line
    assert parse_line(line, "no-such-parser") == parse_line(line)  # an unknown name: detection


def test_every_built_in_parser_takes_any_text_without_raising() -> None:
    for name in PARSERS:
        for text in ("", "x", "{", "<1>", "[", "1:M", "I1203 ", "\ud800", "a=1 b=2"):
            assert isinstance(parse_line(text, name).fields["message"], str)


def test_a_picked_parser_runs_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    line = "2026/12/03 05:54:01 [error] 7#7: *3 upstream timed out"

    def refuse(text: str) -> None:
        raise AssertionError("detection ran")

    assert parse_line(line).format == "nginx-error"
    monkeypatch.setattr(parse_pkg, "parse_nginx_error", refuse)
    assert parse_line(line, "golog").format == "golog"  # detection would have asked parse_nginx_error


# --- joined records without a trace -----------------------------------------------------------


def test_postgres_detail_lines_lose_their_repeated_prefix() -> None:
    record = (
        "2017-04-08 12:32:51.056 CEST [20730] postgres@mydb ERROR:  duplicate key value\n"
        "2017-04-08 12:32:51.056 CEST [20730] postgres@mydb DETAIL:  Key (id)=(1) already exists.\n"
        "2017-04-08 12:32:51.056 CEST [20730] postgres@mydb STATEMENT:  INSERT INTO users VALUES (1)"
    )
    parsed = parse_line(record)
    assert parsed.format == "postgres" and parsed.fields["log"]["level"] == "error"
    assert parsed.fields["message"] == (
        "duplicate key value\nDETAIL:  Key (id)=(1) already exists.\nSTATEMENT:  INSERT INTO users VALUES (1)"
    )


def test_dotnet_entry_lines_are_the_message() -> None:
    parsed = parse_line("info: Microsoft.Hosting.Lifetime[14]\n      Now listening on: http://[::]:80")
    assert parsed.fields["message"] == "Now listening on: http://[::]:80"
    assert parsed.fields["log"] == {"level": "info", "logger": "Microsoft.Hosting.Lifetime"}


def test_plain_joined_record_keeps_its_text() -> None:
    record = "first line\n  continued"
    assert parse_line(record).fields == {"message": record}
    assert parse_line(record + "\n").fields == {"message": record + "\n"}
