"""Stack traces in joined records: ``error.type``/``error.message``/``error.stack_trace``, level and message.

The joined shapes from the shipper's golden files are checked whole in ``test_parse_golden.py``
(``golden/joined_*``); these tests pin each rule.
"""

from __future__ import annotations

import pytest

from processor.parse import parse_line

JAVA = (
    "java.lang.IllegalStateException: boom\n\tat c.e.Service.run(Service.java:10)\n"
    "\tat java.lang.Thread.run(Thread.java:833)"
)
PYTHON = 'Traceback (most recent call last):\n  File "app.py", line 3, in <module>\n    main()\nValueError: bad input'


def test_header_and_java_trace() -> None:
    record = "2026-12-03 05:54:01,123 ERROR [worker-3] c.e.Service - request failed\n" + JAVA
    parsed = parse_line(record)
    assert parsed.format == "logback"
    assert parsed.fields["message"] == "request failed"
    assert parsed.fields["log"]["level"] == "error" and parsed.fields["log"]["logger"] == "c.e.Service"
    assert parsed.fields["error"] == {
        "type": "java.lang.IllegalStateException",
        "message": "boom",
        "stack_trace": JAVA,
    }
    assert parsed.stated_time == "2026-12-03 05:54:01,123"


def test_header_level_wins_over_the_default() -> None:
    record = "2026-12-03 05:54:01,123 WARN [main] c.e.Retry - retrying\n" + JAVA
    assert parse_line(record).fields["log"]["level"] == "warn"


def test_a_trace_without_header_gets_error_and_its_exception_line() -> None:
    parsed = parse_line(JAVA)
    assert parsed.format == "plain"
    assert parsed.fields["message"] == "java.lang.IllegalStateException: boom"
    assert parsed.fields["log"] == {"level": "error"}
    assert parsed.fields["error"]["stack_trace"] == JAVA


def test_python_trace_under_a_gunicorn_header() -> None:
    record = "[2026-12-03 05:54:01 +0000] [7] [ERROR] Exception in worker process\n" + PYTHON
    parsed = parse_line(record)
    assert parsed.format == "python"
    assert parsed.fields["message"] == "Exception in worker process"
    assert parsed.fields["error"] == {"type": "ValueError", "message": "bad input", "stack_trace": PYTHON}
    assert parsed.fields["process"] == {"pid": 7}


def test_python_chain_reports_the_exception_raised_last() -> None:
    record = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "a.py", line 2, in <module>',
            "KeyError: 'x'",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            '  File "a.py", line 4, in <module>',
            "RuntimeError: lookup failed",
        ]
    )
    fields = parse_line(record).fields
    assert fields["error"]["type"] == "RuntimeError" and fields["error"]["message"] == "lookup failed"
    assert fields["message"] == "RuntimeError: lookup failed"


@pytest.mark.parametrize(
    ("record", "error_type", "error_message", "level"),
    [
        ("panic: my panic\n\ngoroutine 4 [running]:\nmain.main()\n\t/app/main.go:5", "panic", "my panic", "fatal"),
        ("fatal error: concurrent map writes\n\ngoroutine 1 [running]:\nmain.main()", "fatal error",
         "concurrent map writes", "fatal"),
        ("2019/01/15 07:48:05 http: panic serving [::1]:54143: test panic\ngoroutine 24 [running]:\n"
         "net/http.(*conn).serve.func1(0xc00007eaa0)", "panic", "test panic", "error"),
        ("PHP Fatal error:  Uncaught Exception: boom in /var/www/index.php:3\nStack trace:\n#0 {main}\n"
         "  thrown in /var/www/index.php on line 3", "Exception", "boom", "error"),
        ("/app/config/routes.rb:6:in `/': divided by 0 (ZeroDivisionError)\n\tfrom /app/config/routes.rb:6:in `<main>'",
         "ZeroDivisionError", "divided by 0", "error"),
        ("System.InvalidOperationException: outer ---> System.ArgumentException: inner\n"
         "   at Program.Main() in /src/Program.cs:line 7\n   --- End of inner exception stack trace ---",
         "System.InvalidOperationException", "outer", "error"),
        ("Error\n    at bls (<anonymous>:3:9)", "Error", None, "error"),
        ("[some weird test] IndexNotFoundException[no such index]\n    at org.elasticsearch.Resolver.java:133)",
         "IndexNotFoundException", "no such index", "error"),
    ],
)  # fmt: skip
def test_trace_shapes(record: str, error_type: str, error_message: str | None, level: str) -> None:
    fields = parse_line(record).fields
    assert fields["error"].get("type") == error_type
    assert fields["error"].get("message") == error_message
    assert fields["log"]["level"] == level


def test_laravel_exception_is_named_by_its_header() -> None:
    record = (
        '[2026-12-03 05:54:01] production.ERROR: boom {"exception":"[object] (RuntimeException(code: 0): boom at '
        '/app/x.php:3)\n[stacktrace]\n#0 /app/y.php(10): foo()\n#1 {main}\n"} '
    )
    parsed = parse_line(record)
    assert parsed.format == "monolog"
    assert parsed.fields["error"]["type"] == "RuntimeException"
    assert parsed.fields["error"]["stack_trace"].startswith("[stacktrace]")


def test_a_zap_stack_keeps_the_header_level_and_has_no_type() -> None:
    record = "2019-09-15T17:17:18.575-0500\tWARN\ttmp/zp.go:24\tWarn\nmain.main\n\t/home/brad/tmp/zp.go:24"
    fields = parse_line(record).fields
    assert fields["log"]["level"] == "warn" and fields["message"] == "Warn"
    assert fields["error"] == {"stack_trace": "main.main\n\t/home/brad/tmp/zp.go:24"}


def test_a_line_end_after_a_trace_is_not_the_message() -> None:
    assert parse_line(JAVA + "\n").fields == parse_line(JAVA).fields


def test_json_header_with_a_trace_keeps_its_document() -> None:
    parsed = parse_line('{"level":"error","msg":"failed"}\n' + JAVA)
    assert parsed.format == "json" and parsed.document == {"level": "error", "msg": "failed"}
    assert parsed.fields["message"] == "failed" and parsed.fields["error"]["type"] == "java.lang.IllegalStateException"


def test_a_joined_record_becomes_one_event_with_its_header_and_error_fields() -> None:
    import orjson

    from processor.events import EventBuilder
    from shipper.multiline import Joiner

    texts = [
        "[2024-10-30 17:19:51 +0000] [3676] [ERROR] Exception in worker process",
        *PYTHON.split("\n"),
        "[2024-10-30 17:19:51 +0000] [3676] [INFO] Worker exiting (pid: 3676)",
    ]
    joiner = Joiner()
    lines = [[1_709_294_400_000_000_000 + i, 0, "stderr", text, []] for i, text in enumerate(texts)]
    records = joiner.feed(lines)[0] + joiner.flush()[0]
    assert len(records) == 2 and "multiline" in records[0][4]
    built = EventBuilder("ns").bulk_lines({"v": 1, "host": "h", "container": {"id": "c1"}, "lines": records})
    documents = [orjson.loads(line) for line in built.events.splitlines()[1::2]]
    first = documents[0]
    assert first["message"] == "Exception in worker process"
    assert first["log"]["level"] == "error" and first["process"]["pid"] == 3676
    assert first["error"] == {"type": "ValueError", "message": "bad input", "stack_trace": PYTHON}
    assert first["event"]["original"] == "\n".join(texts[:-1])
    assert first["logfleet"]["format"] == "python" and first["logfleet"]["flags"] == ["multiline"]
    assert documents[1]["message"] == "Worker exiting (pid: 3676)"
