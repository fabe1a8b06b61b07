"""Property tests: ``parse_line`` never raises and always gives a str ``message``, whatever the text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.parse import PARSERS, Parsed, parse_line
from tests.processor.golden.regenerate import input_lines
from tests.processor.strategies import JSON_VALUES

FORMATS = {*PARSERS, "syslog-3164", "syslog-5424"} - {"syslog"}
GOLDEN = Path(__file__).parent / "golden"
REAL_LINES = sorted({line for path in GOLDEN.glob("*.input") for line in input_lines(path)})

# Characters that steer the detector and the regexes into their less travelled paths.
LOGGY = st.text(
    alphabet=st.sampled_from([*' \t=<>[]"{}:,-./\\0123456789aeEIWFDMarJnTZ_@\x00\ufffd\ufeff\n\r', "\ud800"]),
    max_size=120,
)
LEVEL_KEYS = st.sampled_from(["level", "lvl", "severity", "log.level", "levelname", "msg", "message", "time", "labels"])


def check(text: str, parsed: Parsed) -> None:
    """What holds for every line."""
    assert isinstance(parsed, Parsed)
    assert parsed.format in FORMATS
    assert isinstance(parsed.fields, dict)
    assert isinstance(parsed.fields["message"], str)
    level = parsed.fields.get("log", {}).get("level")
    assert level is None or level in {"trace", "debug", "info", "warn", "error", "fatal"}
    if parsed.format == "json":
        assert isinstance(parsed.document, dict)
    else:
        assert parsed.document is None
    assert parsed.stated_time is None or isinstance(parsed.stated_time, str | int | float)
    error = parsed.fields.get("error")
    if parsed.format == "plain" and error is None:
        assert parsed.fields["message"] == text
    if isinstance(error, dict) and "stack_trace" in error and parsed.format != "json":
        assert isinstance(error["stack_trace"], str) and "\n" in text  # traces only in joined records
    if parsed.format == "access":
        assert parsed.fields["message"] == text.rstrip("\r\n")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return
    orjson.dumps(parsed.fields)  # whatever parsed from encodable text must serialise for Kafka


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text(text: str) -> None:
    check(text, parse_line(text))


@settings(max_examples=400)
@given(LOGGY)
def test_log_shaped_text(text: str) -> None:
    check(text, parse_line(text))


@settings(max_examples=300)
@given(st.sampled_from(REAL_LINES), st.integers(min_value=0, max_value=400), LOGGY)
def test_mutated_real_lines(line: str, cut: int, noise: str) -> None:
    for text in (line[:cut], line[:cut] + noise, noise + line, line[:cut] + noise + line[cut:]):
        check(text, parse_line(text))


@settings(max_examples=300)
@given(JSON_VALUES, st.booleans())
def test_arbitrary_json(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    parsed = parse_line(text)
    check(text, parsed)
    if isinstance(value, dict):
        assert parsed.format == "json"
        assert parsed.document == orjson.loads(text)
    else:
        assert parsed.format == "plain"


@settings(max_examples=300)
@given(st.dictionaries(LEVEL_KEYS | st.text(max_size=8), JSON_VALUES, max_size=6))
def test_json_objects_with_ecs_keys(value: dict[str, Any]) -> None:
    text = orjson.dumps(value).decode()
    parsed = parse_line(text)
    check(text, parsed)
    assert parsed.format == "json"
