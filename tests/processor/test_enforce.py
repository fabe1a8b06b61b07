"""The hand-coded checker of log format v1 (processor/enforce.py): each reason, the order of reasons,
timestamps, and how a container's policy is chosen (processor/policy.py)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from logfleet.core.errors import ConfigError
from processor.enforce import REASONS, FormatChecker, timestamp_ns
from processor.parse import parse_line
from processor.policy import PolicyResolver, parse_services

DOCKER_NS = 1_709_294_400_000_000_000  # 2024-03-01T12:00:00Z
GOOD: dict[str, Any] = {
    "@timestamp": "2024-03-01T12:00:00.123Z",
    "log.level": "info",
    "message": "order 42 paid",
    "service.name": "shop-api",
}


def reasons_of(doc: dict[str, Any] | None = None, *, text: str | None = None, **kwargs: Any) -> list[str]:
    """Check a line the way the processor does: parse the text, check the decoded object."""
    line = text if text is not None else orjson.dumps(doc).decode()
    parsed = parse_line(line)
    return FormatChecker(**kwargs).check(parsed.document, line, DOCKER_NS)


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text, not JSON", ["not_json"]),
        ('{"broken": ', ["not_json"]),
        ("[1, 2, 3]", ["not_json"]),
        ('"a string"', ["not_json"]),
        ("", ["not_json"]),
    ],
)
def test_not_json(text: str, expected: list[str]) -> None:
    assert reasons_of(text=text) == expected


@pytest.mark.parametrize("field", ["@timestamp", "message", "log.level", "service.name"])
def test_missing_field(field: str) -> None:
    doc = dict(GOOD)
    del doc[field]
    assert reasons_of(doc) == [f"missing_field:{field}"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("@timestamp", 1709294400),
        ("message", {"text": "x"}),
        ("log.level", 30),
        ("service.name", None),
        ("trace.id", 123),
        ("span.id", ["a"]),
        ("error.type", False),
        ("error.message", {}),
        ("error.stack_trace", ["at a", "at b"]),
    ],
)
def test_wrong_type_of_a_field(field: str, value: Any) -> None:
    assert reasons_of({**GOOD, field: value}) == [f"wrong_type:{field}"]


@pytest.mark.parametrize("name", ["log", "service", "trace", "span", "error", "event", "labels"])
def test_wrong_type_of_an_object(name: str) -> None:
    assert reasons_of({**GOOD, name: "a string"}) == [f"wrong_type:{name}"]


def test_a_nested_member_of_the_wrong_type_names_the_field() -> None:
    assert reasons_of({**GOOD, "error": {"message": 5}}) == ["wrong_type:error.message"]
    doc = {k: v for k, v in GOOD.items() if k != "service.name"} | {"service": {"name": 7}}
    assert reasons_of(doc) == ["wrong_type:service.name"]


def test_label_values_must_be_scalars() -> None:
    assert reasons_of({**GOOD, "labels": {"a": "x", "b": {"nested": 1}}}) == ["wrong_type:labels"]
    assert reasons_of({**GOOD, "labels": {"a": None}}) == ["wrong_type:labels"]


@pytest.mark.parametrize("level", ["warning", "Info", "critical", "notice", "", "INFO "])
def test_unknown_level(level: str) -> None:
    assert reasons_of({**GOOD, "log.level": level}) == ["unknown_level"]


@pytest.mark.parametrize("level", ["trace", "debug", "info", "warn", "error", "fatal", "ERROR", "FATAL"])
def test_the_closed_set_of_levels(level: str) -> None:
    assert reasons_of({**GOOD, "log.level": level}) == []


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-03-01T12:00:00Z",  # no fraction of a second
        "2024-03-01 12:00:00.123Z",  # space instead of T
        "2024-03-01T12:00:00.123",  # no zone
        "2024-03-01T12:00:00.1234567890Z",  # ten digits
        "2024-02-30T12:00:00.123Z",  # no such day
        "2023-02-29T12:00:00.123Z",  # not a leap year
        "2024-03-01T24:00:00.123Z",
        "2024-03-01T12:00:60.123Z",  # leap seconds are not accepted
        "2024-03-01t12:00:00.123z",
        "1709294400.123",
        "2024-03-01T12:00:00.\uff11\uff12\uff13Z",  # non-ASCII (fullwidth) digits
        "",
    ],
)
def test_timestamp_unparsable(stamp: str) -> None:
    assert reasons_of({**GOOD, "@timestamp": stamp}) == ["timestamp_unparsable"]


@pytest.mark.parametrize(
    ("stamp", "nanos"),
    [
        ("2024-03-01T12:00:00.1Z", DOCKER_NS + 100_000_000),
        ("2024-03-01T12:00:00.123456789Z", DOCKER_NS + 123_456_789),
        ("2024-03-01T13:00:00.5+01:00", DOCKER_NS + 500_000_000),
        ("2024-03-01T11:30:00.000-00:30", DOCKER_NS),
        ("2024-02-29T12:00:00.000Z", DOCKER_NS - 86_400 * 10**9),
    ],
)
def test_timestamps_are_read_to_the_nanosecond(stamp: str, nanos: int) -> None:
    assert timestamp_ns(stamp) == nanos
    assert timestamp_ns(stamp) == nanos  # the second time from the cache of known seconds


def test_timestamp_in_future_is_measured_against_the_docker_timestamp() -> None:
    assert reasons_of({**GOOD, "@timestamp": "2024-03-01T12:05:00.000Z"}) == []  # exactly 5 minutes
    assert reasons_of({**GOOD, "@timestamp": "2024-03-01T12:05:00.001Z"}) == ["timestamp_in_future"]
    assert reasons_of({**GOOD, "@timestamp": "2024-03-01T14:00:00.000+01:00"}) == ["timestamp_in_future"]
    assert reasons_of({**GOOD, "@timestamp": "2020-01-01T00:00:00.000Z"}) == []  # the past is fine
    assert reasons_of({**GOOD, "@timestamp": "2024-03-01T12:09:00.000Z"}, max_future_s=600) == []


def test_too_large_counts_utf8_bytes() -> None:
    small = FormatChecker(max_line_bytes=100)
    assert small.too_large("x" * 100) is False
    assert small.too_large("x" * 101) is True
    assert small.too_large("é" * 50) is False  # 100 bytes
    assert small.too_large("é" * 51) is True  # 102 bytes in 51 characters
    big = {**GOOD, "message": "y" * 70_000}
    assert reasons_of(big) == ["too_large"]
    assert reasons_of(text="z" * 70_000) == ["too_large", "not_json"]
    assert reasons_of(big, max_line_bytes=1 << 20) == []


def test_reasons_come_in_a_fixed_order_whatever_the_key_order() -> None:
    doc = {"labels": [], "log": {"level": "loud"}, "trace.id": 1, "@timestamp": "yesterday"}
    expected = [
        "timestamp_unparsable",
        "missing_field:message",
        "wrong_type:labels",
        "unknown_level",
        "missing_field:service.name",
        "wrong_type:trace.id",
    ]
    assert reasons_of(doc) == expected
    assert reasons_of(dict(reversed(list(doc.items())))) == expected
    assert set(expected) <= REASONS


def test_both_spellings_are_checked_and_a_reason_is_given_once() -> None:
    doc = {**GOOD, "log": {"level": 5}, "log.level": 6}
    assert reasons_of(doc) == ["wrong_type:log.level"]
    doc = {**GOOD, "log": {"level": "nope"}}
    assert reasons_of(doc) == ["unknown_level"]


def test_every_reason_the_checker_gives_is_listed() -> None:
    docs: list[Any] = [{"@timestamp": 1, "message": 2, **{k: 3 for k in ("log", "service", "event", "labels")}}]
    docs += [{k: 1 for k in ("log.level", "service.name", "trace.id", "span.id", "error.type", "error.message")}]
    docs += [{"error": {"stack_trace": 1}}, {"@timestamp": "2030-01-01T00:00:00.0Z", "log.level": "x"}]
    for doc in docs:
        assert set(reasons_of(doc)) <= REASONS, doc


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
