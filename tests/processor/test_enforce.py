"""The hand-coded checker of log format v1 (processor/enforce.py): each reason, essential or canonical,
the order of reasons, what the ECS logging libraries and the dialects get, and how a container's policy
is chosen (processor/policy.py)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from logfleet.core.errors import ConfigError
from processor.enforce import ESSENTIAL, LEVEL_WORDS, REASONS, FormatChecker, canonical_timestamp, is_essential
from processor.parse.ecs import level_of
from processor.policy import PolicyResolver, parse_services
from tests.processor.checking import check_line

GOOD: dict[str, Any] = {
    "@timestamp": "2024-03-01T12:00:00.123Z",
    "log.level": "info",
    "message": "order 42 paid",
    "service.name": "shop-api",
}


def reasons_of(doc: Any = None, *, text: str | None = None, service: bool = False, **kwargs: Any) -> list[str]:
    """The reasons for a line; its container names no service unless ``service``."""
    line = text if text is not None else orjson.dumps(doc).decode()
    return check_line(line, FormatChecker(**kwargs), container_service=service)


def test_a_compliant_line_has_no_reasons() -> None:
    assert reasons_of(GOOD) == []


def test_nested_spellings_comply_too() -> None:
    doc = {
        "@timestamp": "2024-03-01T12:00:00.123456+01:00",
        "log": {"level": "WARN", "logger": "shop"},
        "message": "m",
        "service": {"name": "shop-api", "version": "1.2"},
        "trace": {"id": "abc"},
        "span": {"id": "def"},
        "error": {"type": "E", "message": "boom", "stack_trace": "at x"},
        "labels": {"tenant": "acme", "attempt": 2, "retry": True, "ratio": 0.5},
        "event": {"action": "pay"},
        "extra": {"anything": [1, 2]},
    }
    assert reasons_of(doc) == []


# --- what the ECS logging libraries write by default complies ----------------------------------


@pytest.mark.parametrize(
    "line",
    [
        # ecs-logging-python: Python's level names, no service.name (the container names it)
        '{"@timestamp":"2020-03-20T14:12:46.123Z","log.level":"warning","message":"1: hello","ecs.version":"1.6.0"}',
        '{"@timestamp":"2020-03-20T14:12:46.123Z","log.level":"critical","message":"x","ecs":{"version":"1.6.0"}}',
        # ecs-dotnet (Serilog, NLog): Information, Info, seven fraction digits, +hh:mm
        '{"@timestamp":"2019-11-22T14:59:02.5903135+11:00","log.level":"Information","message":"Log message"}',
        '{"@timestamp":"2020-02-20T16:07:06.7109766+11:00","log.level":"Info","message":"Info \\"X\\" 2.2"}',
        # ecs-logging-go: +hhmm, no fraction; logrus' "error" as a string
        '{"@timestamp":"2021-01-20T11:12:43.061+0800","ecs.version":"1.6.0","log.level":"info","message":"hello"}',
        '{"log.level":"error","ecs.version":"1.6.0","error.message":"x","@timestamp":"2024-03-01T12:00:00Z","message":"m"}',
        '{"@timestamp":"2024-03-01T12:00:00Z","error":"boom!","log.level":"error","message":"an error occurred"}',
        # ecs-logging-java: padded JSON, upper case; JUL's SEVERE
        '{"@timestamp":"2019-08-06T12:09:12.375Z", "log.level": "INFO", "message":"Tomcat started"}',
        '{"@timestamp":"2019-08-06T12:09:12.375Z", "log.level":"SEVERE", "message":"x"}',
    ],
)
def test_ecs_library_defaults_comply(line: str) -> None:
    assert check_line(line, container_service=True) == []
    assert check_line(line, container_service=False) == ["missing_field:service.name"]


# --- essential reasons: strict refuses these ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text, not JSON", ["missing_field:@timestamp", "missing_field:log.level", "not_json"]),
        ("<11>Mar  1 11:59:59 host app[1]: says when, how bad and what", ["not_json"]),  # syslog
        ('{"broken": ', ["missing_field:@timestamp", "missing_field:log.level", "not_json"]),
        ("[1, 2, 3]", ["missing_field:@timestamp", "missing_field:log.level", "not_json"]),
        ("", ["missing_field:@timestamp", "missing_field:log.level", "not_json"]),
        ("time=2024-03-01T12:00:00Z level=info msg=hi", ["not_json"]),
        ("time=2024-03-01T12:00:00Z level=info", ["missing_field:message", "not_json"]),
    ],
)
def test_lines_that_are_not_json(text: str, expected: list[str]) -> None:
    assert reasons_of(text=text, service=True) == expected


@pytest.mark.parametrize("field", ["@timestamp", "message", "log.level", "service.name"])
def test_missing_field(field: str) -> None:
    doc = dict(GOOD)
    del doc[field]
    assert reasons_of(doc) == [f"missing_field:{field}"]
    assert is_essential(reasons_of(doc))


def test_service_from_the_container() -> None:
    doc = {k: v for k, v in GOOD.items() if k != "service.name"}
    assert reasons_of(doc, service=True) == []
    assert reasons_of({**doc, "service": {"name": 7}}) == ["wrong_type:service.name"]  # named all the same
    assert reasons_of({**doc, "service": "shop-api"}) == ["wrong_type:service"]
    assert reasons_of({**doc, "service": {"version": "1"}}) == ["missing_field:service.name"]


@pytest.mark.parametrize(
    ("stamp", "reasons"),
    [
        ("yesterday", ["timestamp_unparsable"]),
        ("2024-02-30T12:00:00.123Z", ["timestamp_unparsable"]),  # no such day
        ("2023-02-29T12:00:00.123Z", ["timestamp_unparsable"]),  # not a leap year
        ("2024-03-01T24:00:00.123Z", ["timestamp_unparsable"]),
        ("2024-03-01T12:00:60.123Z", ["timestamp_unparsable"]),  # leap seconds are not accepted
        ("2024-03-01T12:00:00.\uff11\uff12\uff13Z", ["timestamp_unparsable"]),  # fullwidth digits
        ("", ["timestamp_unparsable", "timestamp_format"]),
        (None, ["timestamp_unparsable", "wrong_type:@timestamp"]),
        ({"at": 1}, ["timestamp_unparsable", "wrong_type:@timestamp"]),
        # a time all the same, just not the canonical form
        ("2024-03-01 12:00:00.123Z", ["timestamp_format"]),
        ("2024-03-01T12:00:00.123", ["timestamp_format"]),
        ("2024-03-01T12:00:00,123Z", ["timestamp_format"]),
        ("2024-03-01T12:00:00.1234567890Z", ["timestamp_format"]),
        ("2024-03-01t12:00:00.123z", ["timestamp_format"]),
        ("2024-03-01T12:00:00.123 UTC", ["timestamp_format"]),
        ("1709294400.123", ["timestamp_format"]),
        (1709294400123, ["wrong_type:@timestamp"]),
    ],
)
def test_timestamps(stamp: Any, reasons: list[str]) -> None:
    doc = {**GOOD, "@timestamp": stamp}
    text = orjson.dumps(doc).decode().replace("\\\\u", "\\u")
    assert reasons_of(text=text) == reasons


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-03-01T12:00:00Z",
        "2024-03-01T12:00:00.1Z",
        "2024-03-01T12:00:00.123456789Z",
        "2024-03-01T12:00:00+00:00",
        "2024-03-01T12:00:00+0000",
        "2024-03-01T13:00:00.5+01:00",
        "2024-03-01T11:30:00.000-0030",
    ],
)
def test_canonical_timestamps(stamp: str) -> None:
    assert canonical_timestamp(stamp)
    assert reasons_of({**GOOD, "@timestamp": stamp}) == []


def test_timestamp_in_future_is_measured_against_the_docker_timestamp() -> None:
    assert reasons_of({**GOOD, "@timestamp": "2024-03-01T12:05:00.000Z"}) == []  # exactly 5 minutes
    assert reasons_of({**GOOD, "@timestamp": "2024-03-01T12:05:00.001Z"}) == ["timestamp_in_future"]
    assert reasons_of({**GOOD, "@timestamp": "2024-03-01T14:00:00.000+01:00"}) == ["timestamp_in_future"]
    assert reasons_of({**GOOD, "@timestamp": "2020-01-01T00:00:00.000Z"}) == []  # the past is fine
    assert reasons_of({**GOOD, "@timestamp": "2024-03-01T12:09:00.000Z"}, max_future_s=600) == []
    assert reasons_of({**GOOD, "@timestamp": 1709294700001}) == ["timestamp_in_future", "wrong_type:@timestamp"]


def test_too_large_counts_utf8_bytes() -> None:
    small = FormatChecker(max_line_bytes=100)
    assert small.too_large("x" * 100) is False
    assert small.too_large("x" * 101) is True
    assert small.too_large("é" * 50) is False  # 100 bytes
    assert small.too_large("é" * 51) is True  # 102 bytes in 51 characters
    big = {**GOOD, "message": "y" * 70_000}
    assert reasons_of(big) == ["too_large"]
    assert reasons_of(text="z" * 70_000, service=True) == [
        "too_large", "missing_field:@timestamp", "missing_field:log.level", "not_json",
    ]  # fmt: skip
    assert reasons_of(big, max_line_bytes=1 << 20) == []


# --- levels ------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", sorted(LEVEL_WORDS))
def test_every_level_word_complies_in_any_case(level: str) -> None:
    assert level_of(level) is not None  # the parser understands each word of the standard
    for spelling in (level, level.upper(), level.title()):
        assert reasons_of({**GOOD, "log.level": spelling}) == []


@pytest.mark.parametrize(
    ("level", "reasons"),
    [
        ("loud", ["unknown_level"]),
        ("", ["unknown_level"]),
        (True, ["unknown_level"]),
        ({"name": "INFO"}, ["unknown_level"]),
        ("INFO ", ["level_format"]),  # understood all the same
        ("30", ["level_format"]),
        (30, ["wrong_type:log.level"]),
    ],
)
def test_levels_that_are_not_words(level: Any, reasons: list[str]) -> None:
    assert reasons_of({**GOOD, "log.level": level}) == reasons
    assert reasons_of({**{k: v for k, v in GOOD.items() if k != "log.level"}, "log": {"level": level}}) == reasons


def test_a_level_under_another_key_is_an_alias() -> None:
    doc = {k: v for k, v in GOOD.items() if k != "log.level"}
    assert reasons_of({**doc, "level": "warning"}) == ["alias:log.level"]
    assert reasons_of({**doc, "level": "loud"}) == ["missing_field:log.level"]
    assert reasons_of({**GOOD, "log.level": "loud", "level": "warn"}) == ["level_format"]


# --- canonical reasons: how far a line is from the form ----------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("message", {"text": "x"}),
        ("service.name", None),
        ("trace.id", 123),
        ("span.id", ["a"]),
        ("error.type", False),
        ("error.message", {}),
        ("error.stack_trace", ["at a", "at b"]),
    ],
)
def test_wrong_type_of_a_field(field: str, value: Any) -> None:
    reasons = reasons_of({**GOOD, field: value}, service=True)
    assert reasons == [f"wrong_type:{field}"]
    assert not is_essential(reasons)


@pytest.mark.parametrize("name", ["log", "service", "trace", "span", "event", "labels"])
def test_wrong_type_of_an_object(name: str) -> None:
    assert reasons_of({**GOOD, name: 5}, service=True) == [f"wrong_type:{name}"]


def test_error_may_be_a_string() -> None:
    assert reasons_of({**GOOD, "error": "connection refused"}) == []
    assert reasons_of({**GOOD, "error": 5}) == ["wrong_type:error"]


def test_a_nested_member_of_the_wrong_type_names_the_field() -> None:
    assert reasons_of({**GOOD, "error": {"message": 5}}) == ["wrong_type:error.message"]


def test_label_values_must_be_scalars() -> None:
    assert reasons_of({**GOOD, "labels": {"a": "x", "b": {"nested": 1}}}) == ["wrong_type:labels"]
    assert reasons_of({**GOOD, "labels": {"a": None}}) == ["wrong_type:labels"]


@pytest.mark.parametrize(
    ("line", "reasons"),
    [
        ('{"time":"2024-03-01T12:00:00Z","level":"info","msg":"m"}',
         ["alias:@timestamp", "alias:message", "alias:log.level"]),
        ('{"event":"hello","level":"warning","timestamp":"2024-03-01T11:59:59.5Z"}',  # structlog
         ["alias:@timestamp", "alias:message", "alias:log.level", "wrong_type:event"]),
        ('{"@t":"2024-03-01T11:59:59.8532799Z","@mt":"Hello, {User}","User":"nb"}',  # CLEF: no @l is info
         ["alias:@timestamp", "alias:message", "alias:log.level"]),
        ('{"t":{"$date":"2024-03-01T11:59:59.328+00:00"},"s":"I","c":"NETWORK","id":1,"ctx":"x","msg":"m"}',
         ["alias:@timestamp", "alias:message", "alias:log.level"]),
        ('{"EventId":0,"LogLevel":"Information","Category":"c","Message":"m"}',  # .NET: no time by default
         ["missing_field:@timestamp", "alias:message", "alias:log.level"]),
        ('{"level":30,"time":1709294399000,"pid":1,"hostname":"h","msg":"m"}',
         ["alias:@timestamp", "alias:message", "alias:log.level"]),
        ('{"timestamp":"2024-03-01T11:59:59Z","level":"DEBUG","fields":{"yak":1},"target":"x"}',  # no message
         ["missing_field:message", "alias:@timestamp", "alias:log.level"]),
    ],
)  # fmt: skip
def test_dialects_say_what_they_lack_and_how_far_from_canonical_they_are(line: str, reasons: list[str]) -> None:
    assert check_line(line) == reasons


def test_reasons_come_in_a_fixed_order_whatever_the_key_order() -> None:
    doc = {"labels": [], "log": {"level": "loud"}, "trace.id": 1, "@timestamp": "yesterday"}
    expected = [
        "timestamp_unparsable",
        "missing_field:message",
        "unknown_level",
        "missing_field:service.name",
        "wrong_type:labels",
        "wrong_type:trace.id",
    ]
    assert reasons_of(doc) == expected
    assert reasons_of(dict(reversed(list(doc.items())))) == expected
    assert set(expected) <= REASONS
    assert is_essential(expected)


def test_both_spellings_are_checked_and_a_reason_is_given_once() -> None:
    doc = {**GOOD, "log": {"level": 5}, "log.level": 6}
    assert reasons_of(doc) == ["unknown_level"]
    doc = {**GOOD, "log": {"level": "nope"}}
    assert reasons_of(doc) == ["level_format"]  # the line's level is known (info): the other spelling is odd


def test_every_reason_the_checker_gives_is_listed() -> None:
    docs: list[Any] = [{"@timestamp": 1, "message": 2, **{k: 3 for k in ("log", "service", "event", "labels")}}]
    docs += [{k: 1 for k in ("log.level", "service.name", "trace.id", "span.id", "error.type", "error.message")}]
    docs += [{"error": {"stack_trace": 1}}, {"@timestamp": "2030-01-01T00:00:00.0Z", "log.level": "x"}]
    docs += [{"time": "x", "level": " info", "msg": 1}, {"@timestamp": "", "level": 30}]
    for doc in docs:
        assert set(reasons_of(doc)) <= REASONS, doc
    assert set(ESSENTIAL) <= REASONS


# --- policies --------------------------------------------------------------------------------------


def test_policy_label_wins_then_service_setting_then_default() -> None:
    resolver = PolicyResolver("warn", "billing=strict, legacy=off")
    assert resolver.resolve({"logfleet.format": "strict"}, "legacy") == "strict"
    assert resolver.resolve({"logfleet.format": " OFF "}, "billing") == "off"
    assert resolver.resolve({}, "billing") == "strict"
    assert resolver.resolve(None, "legacy") == "off"
    assert resolver.resolve({"other": "x"}, "web") == "warn"
    assert PolicyResolver("strict").resolve({}, "web") == "strict"


def test_a_label_with_an_unknown_value_is_counted_and_ignored() -> None:
    resolver = PolicyResolver("warn", "billing=strict")
    assert resolver.resolve({"logfleet.format": "very-strict"}, "billing") == "strict"
    assert resolver.bad_labels == 1


@pytest.mark.parametrize("spec", ["billing", "=strict", "billing=loud", "a=warn,b"])
def test_malformed_service_policies_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError, match="format_policy_services"):
        parse_services(spec)


def test_an_unknown_default_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="format_policy"):
        PolicyResolver("lenient")
