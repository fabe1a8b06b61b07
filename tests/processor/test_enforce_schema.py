"""The hand-coded checker (processor/enforce.py) and the published JSON Schema
(schemas/log-format/v1.json) say the same thing about the same documents: a document is valid for
the schema exactly when the checker has no reason about it.

The schema is validated with the ``jsonschema`` library, used here only (the processor never
validates per line with a general validator: too slow). Some rules are the checker's alone and are
kept out of the comparison: ``timestamp_in_future`` (it needs the Docker timestamp), ``too_large``
(documents here are small), ``missing_field:service.name`` (the container may name the service; here
it does), and the calendar (a pattern cannot know that February 30 does not exist; Python's ``$``
also lets a pattern match before a final newline). Where only the calendar differs, the checker must
be the stricter one.
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

from processor.enforce import LEVEL_WORDS, FormatChecker
from processor.parse.eventtime import stated_time_ns
from tests.processor.checking import check_line

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is a test dependency (pip install jsonschema)")

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "log-format" / "v1.json"
SCHEMA = orjson.loads(SCHEMA_PATH.read_bytes())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
PATTERN = re.compile(SCHEMA["properties"]["@timestamp"]["pattern"])
LATE = 2**63 - 1  # a Docker timestamp (2262) no generated line is ahead of
CHECKER = FormatChecker(max_line_bytes=1 << 30)


def checker_reasons(doc: Any) -> list[str]:
    return check_line(orjson.dumps(doc).decode(), CHECKER, LATE, container_service=True)


def calendar_only(doc: Any) -> bool:
    """True if the timestamp passes the schema's pattern but the checker cannot read it (the calendar)."""
    stamp = doc.get("@timestamp") if isinstance(doc, dict) else None
    return isinstance(stamp, str) and PATTERN.search(stamp) is not None and stated_time_ns(stamp, LATE) is None


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


def _any_case(word: str) -> str:
    return "".join(f"[{c}{c.upper()}]" if c.isalpha() else c for c in word)


def test_the_schema_and_the_checker_accept_the_same_level_words_in_any_case() -> None:
    expected = "^(" + "|".join(_any_case(word) for word in sorted(LEVEL_WORDS)) + ")$"
    assert SCHEMA["$defs"]["level"]["pattern"] == expected, "regenerate the level pattern from LEVEL_WORDS"
    level = re.compile(expected)
    for word in LEVEL_WORDS:
        assert level.match(word.upper()) and level.match(word.title())
    assert not level.match("loud") and not level.match(" info") and not level.match("30")


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
# What the ECS logging libraries write by default (see golden/dialect_ecs_*.input for whole lines).
ECS_DEFAULTS: list[dict[str, Any]] = [
    {"@timestamp": "2020-03-20T14:12:46.123Z", "log.level": "warning", "message": "x", "ecs.version": "1.6.0"},
    {"@timestamp": "2019-11-22T14:59:02.5903135+11:00", "log.level": "Information", "message": "Log message"},
    {"@timestamp": "2021-01-20T11:12:43.061+0800", "log.level": "info", "message": "hello", "error": "boom!"},
    {"log.level": "error", "@timestamp": "1970-01-01T00:00:00Z", "message": "An error has occured"},
]


def _without(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}


# (document, the reasons the checker gives); the schema must refuse each.
BROKEN: list[tuple[Any, list[str]]] = [
    ([GOOD], ["missing_field:@timestamp", "not_json"]),  # as plain text, its level is sniffed
    ("a string", ["missing_field:@timestamp", "missing_field:log.level", "not_json"]),
    (None, ["missing_field:@timestamp", "missing_field:log.level", "not_json"]),
    (_without(GOOD, "@timestamp"), ["missing_field:@timestamp"]),
    (_without(GOOD, "message"), ["missing_field:message"]),
    (_without(GOOD, "log.level"), ["missing_field:log.level"]),
    ({**_without(GOOD, "log.level"), "log": {"logger": "x"}}, ["missing_field:log.level"]),
    ({**_without(GOOD, "@timestamp"), "time": GOOD["@timestamp"]}, ["alias:@timestamp"]),
    ({**_without(GOOD, "message"), "msg": "m"}, ["alias:message"]),
    ({**_without(GOOD, "log.level"), "level": "info"}, ["alias:log.level"]),
    ({**GOOD, "@timestamp": 1709294400123}, ["wrong_type:@timestamp"]),
    ({**GOOD, "@timestamp": "2024-03-01 12:00:00.123"}, ["timestamp_format"]),
    ({**GOOD, "message": None}, ["wrong_type:message"]),
    ({**GOOD, "log.level": 30}, ["wrong_type:log.level"]),
    ({**GOOD, "log.level": "30"}, ["level_format"]),
    ({**_without(GOOD, "log.level"), "log": {"level": True}}, ["unknown_level"]),
    ({**GOOD, "log": {"level": True}}, ["wrong_type:log.level"]),  # the dotted spelling says info
    ({**GOOD, "log.level": "loud"}, ["unknown_level"]),
    ({**GOOD, "service.name": ["a"]}, ["wrong_type:service.name"]),
    ({**GOOD, "trace.id": 1}, ["wrong_type:trace.id"]),
    ({**GOOD, "trace": {"id": 1}}, ["wrong_type:trace.id"]),
    ({**GOOD, "span.id": 1.5}, ["wrong_type:span.id"]),
    ({**GOOD, "error.type": {}}, ["wrong_type:error.type"]),
    ({**GOOD, "error": {"message": 1}}, ["wrong_type:error.message"]),
    ({**GOOD, "error.stack_trace": ["at a"]}, ["wrong_type:error.stack_trace"]),
    ({**GOOD, "log": "text"}, ["wrong_type:log"]),
    ({**GOOD, "service": 1}, ["wrong_type:service"]),
    ({**GOOD, "trace": []}, ["wrong_type:trace"]),
    ({**GOOD, "span": "x"}, ["wrong_type:span"]),
    ({**GOOD, "error": 5}, ["wrong_type:error"]),
    ({**GOOD, "event": "x"}, ["wrong_type:event"]),
    ({**GOOD, "labels": ["a"]}, ["wrong_type:labels"]),
    ({**GOOD, "labels": {"a": {"b": 1}}}, ["wrong_type:labels"]),
    ({**GOOD, "labels": {"a": None}}, ["wrong_type:labels"]),
    ({**GOOD, "@timestamp": "2024-03-01T12:00:00.1234567890Z"}, ["timestamp_format"]),
    ({**GOOD, "@timestamp": "x2024-03-01T12:00:00.123Z"}, ["timestamp_unparsable"]),
    ({**GOOD, "@timestamp": "2024-13-01T12:00:00.123Z"}, ["timestamp_unparsable"]),
]


@pytest.mark.parametrize(("doc", "reasons"), BROKEN, ids=[",".join(reasons) for _, reasons in BROKEN])
def test_each_reason_is_a_schema_violation(doc: Any, reasons: list[str]) -> None:
    assert checker_reasons(doc) == reasons
    assert not VALIDATOR.is_valid(doc)


COMPLIANT = [GOOD, NESTED, {**GOOD, **NESTED}, {**GOOD, "log": {}, "service": {"x": 1}}, _without(GOOD, "service.name")]


@pytest.mark.parametrize("doc", [*COMPLIANT, *ECS_DEFAULTS])
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
    moment = draw(st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(2261, 12, 30), timezones=ZONES))
    digits = draw(st.integers(0, 9))
    fraction = f"{moment.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    offset = moment.utcoffset() or timedelta()
    colon = draw(st.sampled_from([":", ""]))
    if offset == timedelta():
        zone = draw(st.sampled_from(["Z", f"+00{colon}00", f"-00{colon}00"]))
    else:
        minutes = int(offset.total_seconds() // 60)
        zone = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}{colon}{abs(minutes) % 60:02d}"
    return f"{moment:%Y-%m-%dT%H:%M:%S}{'.' if fraction else ''}{fraction}{zone}"


def mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Valid values most of the time, any JSON value sometimes."""
    return st.one_of(valid, valid, valid, JSON)


WORDS = sorted(LEVEL_WORDS)
TEXT = mostly(st.text(max_size=8))
LEVEL = mostly(st.sampled_from([*WORDS, *(w.upper() for w in WORDS), "Information", "loud", " info", "30", ""]))
STAMP = st.one_of(stamps(), stamps(), st.text(max_size=30), JSON)
# JSON has no infinity (a line holding one is not JSON), so no document the checker sees can hold it.
SCALARS = st.one_of(st.text(max_size=5), st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False),
                    st.booleans())
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
        "error": st.one_of(nested(type=TEXT, message=TEXT, stack_trace=TEXT), TEXT),
        "labels": LABELS,
        "event": mostly(st.dictionaries(st.text(max_size=5), JSON, max_size=2)),
        "time": STAMP,
        "msg": TEXT,
        "level": LEVEL,
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
    assert stated_time_ns(stamp, LATE) is not None
    assert_agree({**GOOD, "@timestamp": stamp})
