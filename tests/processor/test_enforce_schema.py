"""The hand-coded checker (processor/enforce.py) and the published JSON Schema
(schemas/log-format/v1.json) say the same thing about the same documents.

The schema is validated with the ``jsonschema`` library, used here only (the processor never
validates per line with a general validator: too slow). Three rules are the checker's alone and are
kept out of the comparison: ``timestamp_in_future`` (it needs the Docker timestamp), ``too_large``
(documents here are small) and the calendar (a pattern cannot know that February 30 does not exist;
Python's ``$`` also lets a pattern match before a final newline). Where only these differ, the checker
must be the stricter one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.enforce import FormatChecker, timestamp_ns

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a test dependency (pip install jsonschema)")

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "log-format" / "v1.json"
SCHEMA = orjson.loads(SCHEMA_PATH.read_bytes())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
PATTERN = re.compile(SCHEMA["properties"]["@timestamp"]["pattern"])
FAR_FUTURE = 10**30  # a Docker timestamp no line is ahead of
CHECKER = FormatChecker(max_line_bytes=1 << 30)
LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]


def checker_reasons(doc: Any) -> list[str]:
    document = doc if isinstance(doc, dict) else None
    return CHECKER.check(document, orjson.dumps(doc).decode(), FAR_FUTURE)


def calendar_only(doc: Any) -> bool:
    """True if the timestamp passes the schema's pattern but the checker refuses it (calendar, newline)."""
    stamp = doc.get("@timestamp") if isinstance(doc, dict) else None
    return isinstance(stamp, str) and PATTERN.search(stamp) is not None and timestamp_ns(stamp) is None


def assert_agree(doc: Any) -> None:
    schema_ok = VALIDATOR.is_valid(doc)
    reasons = checker_reasons(doc)
    if calendar_only(doc):
        assert "timestamp_unparsable" in reasons, doc
        reasons.remove("timestamp_unparsable")
    assert schema_ok == (not reasons), (doc, reasons, [e.message for e in VALIDATOR.iter_errors(doc)])


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schema_and_the_checker_accept_the_same_levels() -> None:
    assert SCHEMA["$defs"]["level"]["enum"] == LEVELS


GOOD: dict[str, Any] = {
    "@timestamp": "2024-03-01T12:00:00.123Z",
    "log.level": "info",
    "message": "order 42 paid",
    "service.name": "shop-api",
}
NESTED: dict[str, Any] = {
    "@timestamp": "2024-03-01T12:00:00.123456789-05:30",
    "log": {"level": "ERROR", "logger": "x"},
    "message": "",
    "service": {"name": "s"},
    "trace": {"id": "t"},
    "span": {"id": "s"},
    "error": {"type": "E", "message": "m", "stack_trace": "st"},
    "labels": {"a": 1, "b": "x", "c": True, "d": 0.5},
    "event": {"dataset": "x", "duration": 5},
    "anything": [None, {"nested": True}],
}


def _without(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}


# (document, the one reason the checker gives); the schema must refuse each.
BROKEN: list[tuple[Any, str]] = [
    ([GOOD], "not_json"),
    ("a string", "not_json"),
    (5, "not_json"),
    (None, "not_json"),
    (_without(GOOD, "@timestamp"), "missing_field:@timestamp"),
    (_without(GOOD, "message"), "missing_field:message"),
    (_without(GOOD, "log.level"), "missing_field:log.level"),
    (_without(GOOD, "service.name"), "missing_field:service.name"),
    ({**_without(GOOD, "log.level"), "log": {"logger": "x"}}, "missing_field:log.level"),
    ({**_without(GOOD, "service.name"), "service": {}}, "missing_field:service.name"),
    ({**GOOD, "@timestamp": 5}, "wrong_type:@timestamp"),
    ({**GOOD, "message": None}, "wrong_type:message"),
    ({**GOOD, "log.level": 30}, "wrong_type:log.level"),
    ({**GOOD, "log": {"level": True}}, "wrong_type:log.level"),
    ({**GOOD, "service.name": ["a"]}, "wrong_type:service.name"),
    ({**GOOD, "trace.id": 1}, "wrong_type:trace.id"),
    ({**GOOD, "trace": {"id": 1}}, "wrong_type:trace.id"),
    ({**GOOD, "span.id": 1.5}, "wrong_type:span.id"),
    ({**GOOD, "error.type": {}}, "wrong_type:error.type"),
    ({**GOOD, "error": {"message": 1}}, "wrong_type:error.message"),
    ({**GOOD, "error.stack_trace": ["at a"]}, "wrong_type:error.stack_trace"),
    ({**GOOD, "log": "text"}, "wrong_type:log"),
    ({**GOOD, "service": 1}, "wrong_type:service"),
    ({**GOOD, "trace": []}, "wrong_type:trace"),
    ({**GOOD, "span": "x"}, "wrong_type:span"),
    ({**GOOD, "error": "boom"}, "wrong_type:error"),
    ({**GOOD, "event": "x"}, "wrong_type:event"),
    ({**GOOD, "labels": ["a"]}, "wrong_type:labels"),
    ({**GOOD, "labels": {"a": {"b": 1}}}, "wrong_type:labels"),
    ({**GOOD, "labels": {"a": None}}, "wrong_type:labels"),
    ({**GOOD, "log.level": "warning"}, "unknown_level"),
    ({**GOOD, "log": {"level": "Info"}}, "unknown_level"),
    ({**GOOD, "@timestamp": "2024-03-01T12:00:00Z"}, "timestamp_unparsable"),
    ({**GOOD, "@timestamp": "2024-03-01T12:00:00.123"}, "timestamp_unparsable"),
    ({**GOOD, "@timestamp": "2024-13-01T12:00:00.123Z"}, "timestamp_unparsable"),
    ({**GOOD, "@timestamp": "2024-03-01T12:00:00.1234567890Z"}, "timestamp_unparsable"),
    ({**GOOD, "@timestamp": "x2024-03-01T12:00:00.123Z"}, "timestamp_unparsable"),
]


@pytest.mark.parametrize(("doc", "reason"), BROKEN, ids=[reason for _, reason in BROKEN])
def test_each_reason_is_a_schema_violation(doc: Any, reason: str) -> None:
    assert checker_reasons(doc) == [reason]
    assert not VALIDATOR.is_valid(doc)


@pytest.mark.parametrize("doc", [GOOD, NESTED, {**GOOD, **NESTED}, {**GOOD, "log": {}, "service": {"x": 1}}])
def test_compliant_documents_pass_both(doc: dict[str, Any]) -> None:
    assert checker_reasons(doc) == []
    assert VALIDATOR.is_valid(doc)


@pytest.mark.parametrize("stamp", ["2024-02-30T12:00:00.123Z", "2023-02-29T00:00:00.1Z", "2024-03-01T12:00:00.123Z\n"])
def test_the_checker_is_stricter_on_the_calendar(stamp: str) -> None:
    doc = {**GOOD, "@timestamp": stamp}
    assert VALIDATOR.is_valid(doc)
    assert checker_reasons(doc) == ["timestamp_unparsable"]


# --- generated documents ---------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(-timedelta(hours=5, minutes=30))])


@st.composite
def stamps(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 30), timezones=ZONES))
    digits = draw(st.integers(1, 9))
    fraction = f"{moment.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    offset = moment.utcoffset() or timedelta()
    if offset == timedelta():
        zone = draw(st.sampled_from(["Z", "+00:00", "-00:00"]))
    else:
        minutes = int(offset.total_seconds() // 60)
        zone = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{fraction}{zone}"


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values most of the time, any JSON value sometimes."""
    return st.one_of(valid, valid, valid, JSON)


TEXT = mostly(st.text(max_size=8))
LEVEL = mostly(st.sampled_from([*LEVELS, "warning", "Info", "notice", ""]))
STAMP = st.one_of(stamps(), stamps(), st.text(max_size=30), JSON)
SCALARS = st.one_of(st.text(max_size=5), st.integers(-(2**53), 2**53), st.floats(allow_nan=False), st.booleans())
LABELS = mostly(st.dictionaries(st.text(max_size=5), SCALARS))


def nested(**members: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(st.fixed_dictionaries({}, optional={**members, "other": JSON}))


DOCS = st.fixed_dictionaries(
    {},
    optional={
        "@timestamp": STAMP,
        "message": TEXT,
        "log.level": LEVEL,
        "log": nested(level=LEVEL, logger=TEXT),
        "service.name": TEXT,
        "service": nested(name=TEXT),
        "trace.id": TEXT,
        "trace": nested(id=TEXT),
        "span.id": TEXT,
        "span": nested(id=TEXT),
        "error.type": TEXT,
        "error.message": TEXT,
        "error.stack_trace": TEXT,
        "error": nested(type=TEXT, message=TEXT, stack_trace=TEXT),
        "labels": LABELS,
        "event": mostly(st.dictionaries(st.text(max_size=5), JSON, max_size=2)),
        "extra": JSON,
    },
)
NEAR_VALID = st.builds(lambda extra: {**GOOD, **extra}, DOCS)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(DOCS, NEAR_VALID, NEAR_VALID, JSON))
def test_checker_and_schema_agree_on_generated_documents(doc: Any) -> None:
    assert_agree(doc)


@settings(max_examples=200, deadline=None)
@given(stamps())
def test_generated_timestamps_are_accepted_by_both(stamp: str) -> None:
    assert PATTERN.search(stamp) is not None
    assert timestamp_ns(stamp) is not None
    assert_agree({**GOOD, "@timestamp": stamp})
