"""JSON dialects (processor/parse/dialects.py): each logger is told by its keys and its values land in the
ECS fields. Whole real lines of each are in the golden files (golden/dialect_*); these are the edge cases."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from processor.parse import parse_line
from processor.parse.dialects import DIALECTS, detect


def parsed(doc: dict[str, Any]) -> Any:
    return parse_line(orjson.dumps(doc).decode())


@pytest.mark.parametrize(
    ("doc", "dialect"),
    [
        ({"@timestamp": "t", "log.level": "info", "message": "m", "ecs.version": "1.6.0"}, "ecs"),
        ({"@timestamp": "t", "log.level": "info", "message": "m", "ecs": {"version": "1.6.0"}}, "ecs"),
        ({"@timestamp": "t", "log.level": "info", "message": "m", "service.name": "s"}, None),
        ({"@timestamp": "t", "@version": "1", "message": "m", "level": "INFO"}, "logstash"),
        ({"@t": "t", "@mt": "m"}, "clef"),
        ({"t": {"$date": "t"}, "s": "I", "msg": "m"}, "mongodb"),
        ({"t": "not an object", "s": "I", "msg": "m"}, None),
        ({"EventId": 0, "LogLevel": "Information", "Category": "c", "Message": "m"}, "dotnet"),
        ({"timestamp": "t", "level": "INFO", "fields": {"message": "m"}, "target": "x"}, "tracing"),
        ({"instant": {}, "level": "INFO", "loggerName": "x", "message": "m"}, "log4j2"),
        ({"text": "m\n", "record": {"message": "m"}}, "loguru"),
        ({"version": "1.1", "host": "h", "short_message": "m"}, "gelf"),
        ({"event": "m", "level": "info"}, "structlog"),
        ({"event": {"action": "login"}, "message": "m"}, None),  # an ECS event object is not structlog's
        ({"levelname": "INFO", "message": "m"}, "python-json"),
        ({"name": "n", "hostname": "h", "pid": 1, "level": 30, "msg": "m", "time": "t", "v": 0}, "bunyan"),
        ({"level": "info", "ts": 1.5, "caller": "c", "msg": "m"}, "zap"),
        ({"level": 30, "time": 1, "pid": 1, "hostname": "h", "msg": "m"}, "pino"),
        ({"level": "info", "msg": "m", "time": "t"}, "logrus"),
        ({"level": "info", "message": "m", "time": "t"}, "zerolog"),
        ({"level": "info", "message": "m", "timestamp": "t"}, "winston"),
        ({"msg": "m"}, None),
        ({"message": "m", "time": "t"}, None),
        ({}, None),
    ],
)
def test_detection(doc: dict[str, Any], dialect: str | None) -> None:
    found = detect(doc)
    assert (found.name if found else None) == dialect
    assert parsed(doc).dialect == dialect


def test_every_dialect_has_a_unique_name() -> None:
    names = [d.name for d in DIALECTS]
    assert len(names) == len(set(names)) and None not in names


def test_clef_renders_its_template_and_defaults_to_information() -> None:
    line = {"@t": "2016-06-07T03:44:57.8532799Z", "@mt": "Hello, {@User}, {N:x8} at {{x}} {Missing} {Name:l}",
            "@r": ["0000007b"], "User": {"Name": "nb"}, "N": 123, "Name": "lit"}  # fmt: skip
    result = parsed(line)
    assert result.fields["message"] == 'Hello, {"Name":"nb"}, 0000007b at {x} {Missing} lit'
    assert result.fields["log"] == {"level": "info"}
    assert result.stated_time == "2016-06-07T03:44:57.8532799Z"
    rendered = parsed({"@t": "t", "@m": 'Hello, "nb"', "@mt": "Hello, {User}", "@l": "Verbose", "User": "nb"})
    assert rendered.fields["message"] == 'Hello, "nb"'
    assert rendered.fields["log"] == {"level": "trace"}
    assert rendered.fields["app"] == {"@mt": "Hello, {User}", "User": "nb"}
    error = parsed({"@t": "t", "@mt": "boom", "@l": "Error", "@x": "System.Exception: boom", "@tr": "ab", "@sp": "cd"})
    assert error.fields["error"] == {"stack_trace": "System.Exception: boom"}
    assert (error.fields["trace"], error.fields["span"]) == ({"id": "ab"}, {"id": "cd"})
    unknown = parsed({"@t": "t", "@mt": "m", "@l": "Loud"})
    assert "log" not in unknown.fields and unknown.fields["app"] == {"@l": "Loud"}


@pytest.mark.parametrize(
    ("severity", "level"),
    [("F", "fatal"), ("E", "error"), ("W", "warn"), ("I", "info"), ("D1", "debug"), ("D5", "debug")],
)
def test_mongodb_severities(severity: str, level: str) -> None:
    assert parsed({"t": {"$date": "x"}, "s": severity, "c": "NETWORK", "msg": "m"}).fields["log"] == {
        "level": level,
        "logger": "NETWORK",
    }


def test_mongodb_times() -> None:
    assert parsed({"t": {"$date": {"$numberLong": "1616448080328"}}, "s": "I", "msg": "m"}).stated_time == 1616448080328
    odd = parsed({"t": {"$date": 5}, "s": "X", "msg": "m"})
    assert odd.stated_time is None and odd.fields["app"] == {"t": {"$date": 5}, "s": "X"}


def test_log4j2_instant_and_thrown() -> None:
    line = {
        "instant": {"epochSecond": 1493121664, "nanoOfSecond": 118000000},
        "level": "WARN",
        "loggerName": "HelloWorld",
        "message": "m",
        "thrown": {"name": "java.lang.RuntimeException", "extendedStackTrace": "java.lang.RuntimeException\n\tat a"},
    }
    result = parsed(line)
    assert result.stated_time == 1493121664118000000
    assert result.fields["error"] == {
        "type": "java.lang.RuntimeException",
        "stack_trace": "java.lang.RuntimeException\n\tat a",
    }
    assert parsed({"timeMillis": 1493121664118, "loggerName": "x", "message": "m"}).stated_time == 1493121664118
    bad = parsed({"instant": {"epochSecond": "x"}, "loggerName": "x", "message": "m"})
    assert bad.stated_time is None and bad.fields["app"]["instant"] == {"epochSecond": "x"}


def test_gelf_levels_are_syslog_severities() -> None:
    assert parsed({"short_message": "m", "level": 3, "timestamp": 1.5}).fields["log"] == {"level": "error"}
    assert parsed({"short_message": "m", "level": 6}).fields["log"] == {"level": "info"}
    assert "log" not in parsed({"short_message": "m", "level": 30}).fields  # not a pino number here


def test_loguru_exception() -> None:
    record = {
        "exception": {"type": "ZeroDivisionError", "value": "division by zero", "traceback": True},
        "level": {"name": "ERROR", "no": 40},
        "message": "oops",
        "name": "__main__",
        "time": {"repr": "2024-03-01 12:00:00.123456+01:00", "timestamp": 1709290800.123456},
    }
    result = parsed({"text": "oops\nTraceback...\n", "record": record})
    assert result.fields["message"] == "oops"
    assert result.fields["log"] == {"level": "error", "logger": "__main__"}
    assert result.stated_time == "2024-03-01 12:00:00.123456+01:00"
    assert result.fields["error"] == {
        "type": "ZeroDivisionError",
        "message": "division by zero",
        "stack_trace": "oops\nTraceback...\n",
    }
    assert parsed({"text": "x", "record": {"level": {"name": "SUCCESS"}, "message": "x"}}).fields["log"] == {
        "level": "info"
    }


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ({"msg": "m", "error": "text"}, {"message": "text"}),  # logrus, zap, zerolog
        ({"msg": "m", "err": "text"}, {"message": "text"}),
        ({"msg": "m", "err": {"type": "Error", "message": "boom", "stack": "Error: boom\n at x"}},
         {"type": "Error", "message": "boom", "stack_trace": "Error: boom\n at x"}),
        ({"msg": "m", "stack_trace": "st"}, {"stack_trace": "st"}),
        ({"msg": "m", "stacktrace": "st"}, {"stack_trace": "st"}),
        ({"msg": "m", "exc_info": "Traceback"}, {"stack_trace": "Traceback"}),
        ({"event": "m", "exception": "Traceback"}, {"stack_trace": "Traceback"}),
        ({"message": "m", "level": "error", "stack": "Error: x\n    at y"}, {"stack_trace": "Error: x\n    at y"}),
        ({"msg": "m", "error.stack_trace": "best", "stack_trace": "worse"}, {"stack_trace": "best"}),
        ({"msg": "m", "stack_trace": ["line 1", "line 2"]}, {"stack_trace": "line 1\nline 2"}),
    ],
)  # fmt: skip
def test_error_keys(doc: dict[str, Any], error: dict[str, str]) -> None:
    assert parsed(doc).fields["error"] == error


def test_winston_and_loguru_level_words_levels_py_lacks() -> None:
    assert parsed({"level": "silly", "message": "m", "timestamp": "t"}).fields["log"] == {"level": "trace"}
    assert parsed({"level": "http", "message": "m", "timestamp": "t"}).fields["log"] == {"level": "info"}
