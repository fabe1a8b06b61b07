"""Multiline joining: the fluent-bit multiline cases (../shared/corpora/fluent-bit/
derived_multiline_cases.json, extracted from fluent-bit's tests/internal/multiline.c), the golden
files in ``golden/`` (see ``golden/SOURCES.md``) and the rules one by one."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from shipper.frames import Line
from shipper.multiline import MAX_TENTATIVE, Joiner
from tests.shipper.golden.regenerate import joined, log_lines

GOLDEN = Path(__file__).parent / "golden"
GOLDEN_NAMES = sorted(path.stem for path in GOLDEN.glob("*.log"))

_BESIDE = Path(__file__).resolve().parents[3] / "shared" / "corpora"
CORPORA = _BESIDE if _BESIDE.is_dir() else Path("/work/shared/corpora")
CASES = CORPORA / "fluent-bit" / "derived_multiline_cases.json"


def _lines(texts: list[str], stream: str = "stderr") -> list[Line]:
    return [[1_000 + i, 0, stream, text.rstrip("\n"), []] for i, text in enumerate(texts)]


@pytest.mark.skipif(not CASES.exists(), reason="shared corpora not beside the repository")
@pytest.mark.parametrize("case", ["java", "python", "go", "ruby", "elastic"])
def test_built_in_rules_join_the_fluent_bit_cases(case: str) -> None:
    data = json.loads(CASES.read_text())["cases"][case]
    joiner = Joiner()
    records = joiner.feed(_lines(data["input_lines"]))[0] + joiner.flush()[0]
    assert [r[3] for r in records] == [e.rstrip("\n") for e in data["expected_records"]]
    assert "multiline" in records[0][4]


def test_a_joined_record_keeps_its_first_key_and_reports_its_last() -> None:
    joiner = Joiner()
    lines = _lines(["java.lang.IllegalStateException: boom", "\tat a.B.c(B.java:1)", "\tat a.B.d(B.java:2)", "next"])
    first, key_after_trace = joiner.feed(lines[:3])
    assert first == [] and key_after_trace is None  # held: the trace may go on
    records, last_key = joiner.feed(lines[3:])
    assert [r[0] for r in records] == [1000, 1003] and last_key == (1003, 0)
    assert records[0][3].count("\n") == 2


def test_ordinary_lines_are_not_held_and_streams_do_not_mix() -> None:
    joiner = Joiner()
    out, _ = joiner.feed(_lines(["plain one", "plain two"], "stdout"))
    assert [r[3] for r in out] == ["plain one", "plain two"]
    trace, _ = joiner.feed([[5, 0, "stderr", "Traceback (most recent call last):", []]])
    between, _ = joiner.feed([[6, 0, "stdout", "  indented stdout line", []]])
    assert trace == [] and [r[3] for r in between] == ["  indented stdout line"]
    rest, _ = joiner.feed([[7, 0, "stderr", '  File "x.py", line 1', []], [8, 0, "stderr", "ValueError: x", []]])
    assert rest == []
    assert [r[3] for r in joiner.feed([[9, 0, "stderr", "after", []]])[0]] == [
        'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: x',
        "after",
    ]


def test_the_checkpoint_key_never_passes_a_record_still_held_on_the_other_stream() -> None:
    # A shipper killed while stderr's trace is held must resume before it, though stdout went on.
    joiner = Joiner()
    header = "Traceback (most recent call last):"
    out, key = joiner.feed([[1, 0, "stdout", "starting", []], [2, 0, "stderr", header, []]])
    assert [r[3] for r in out] == ["starting"] and key == (1, 0)  # the line before the held header
    out, key = joiner.feed([[3, 0, "stdout", "still serving", []], [4, 0, "stdout", "and more", []]])
    assert [r[3] for r in out] == ["still serving", "and more"] and key == (1, 0)  # sent, not checkpointed
    out, key = joiner.feed([[5, 0, "stderr", '  File "x.py", line 1', []], [6, 0, "stderr", "ValueError: x", []]])
    assert out == [] and key is None
    out, key = joiner.feed([[7, 0, "stderr", "after", []]])
    assert [r[3] for r in out] == [
        'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: x',
        "after",
    ] and key == (7, 0)  # nothing held any more: the last line seen


def test_a_record_held_from_the_first_line_allows_no_checkpoint_until_it_is_released() -> None:
    joiner = Joiner(flush_s=0.5)
    out, key = joiner.feed([[1, 0, "stderr", "panic: boom", []], [2, 0, "stdout", "unrelated", []]])
    assert [r[3] for r in out] == ["unrelated"] and key is None
    out, key = joiner.expired(now=time.monotonic() + 1.0)
    assert [r[3] for r in out] == ["panic: boom"] and key == (2, 0)


def test_a_held_record_is_released_after_the_flush_timeout() -> None:
    joiner = Joiner(flush_s=0.5)
    assert joiner.feed(_lines(["panic: boom"])) == ([], None)
    assert joiner.expired(now=0) == ([], None)
    import time

    released, key = joiner.expired(now=time.monotonic() + 1)
    assert [r[3] for r in released] == ["panic: boom"] and key == (1000, 0)


def test_a_custom_start_pattern_from_a_label() -> None:
    joiner = Joiner.for_labels({"logfleet.multiline.start": r"^\d{4}-\d\d-\d\d "})
    out = joiner.feed(_lines(["2024-01-01 first", "continued", "2024-01-01 second"]))[0] + joiner.flush()[0]
    assert [r[3] for r in out] == ["2024-01-01 first\ncontinued", "2024-01-01 second"]


def test_joining_can_be_turned_off_by_label() -> None:
    joiner = Joiner.for_labels({"logfleet.multiline": "off"})
    out, key = joiner.feed(_lines(["panic: boom", "", "goroutine 1 [running]:"]))
    assert len(out) == 3 and key == (1002, 0)


def test_chunks_without_a_trigger_pass_through_untouched() -> None:
    joiner = Joiner()
    assert not joiner.may_start(b"2024 GET /index.html 200\nall fine\n")
    assert joiner.may_start(b"x\njava.lang.IllegalStateException: boom\n")
    lines = _lines(["a", "b"])
    assert joiner.feed(lines, may_start=False) == (lines, (1001, 0))


def _texts(records: list[Line]) -> list[str]:
    return [record[3] for record in records]


def _run(texts: list[str], stream: str = "stderr") -> list[str]:
    joiner = Joiner()
    return _texts(joiner.feed(_lines(texts, stream))[0] + joiner.flush()[0])


def test_golden_files_have_records_and_a_source() -> None:
    sources = (GOLDEN / "SOURCES.md").read_text()
    assert GOLDEN_NAMES
    for name in GOLDEN_NAMES:
        assert (GOLDEN / f"{name}.records.json").is_file(), name
        assert f"`{name}.log`" in sources, f"{name}: source not recorded"


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden(name: str) -> None:
    lines = log_lines(GOLDEN / f"{name}.log")
    expected = json.loads((GOLDEN / f"{name}.records.json").read_text())
    assert joined(lines) == expected
    assert "\n".join(expected) == "\n".join(lines)  # nothing lost, nothing reordered


def test_the_announcing_line_joins_the_trace_after_it() -> None:
    java = [
        "2024-01-01 12:00:00,123 ERROR [worker-3] c.e.Service - request failed",
        "java.lang.IllegalStateException: boom",
        "\tat c.e.Service.run(Service.java:10)",
        "next line",
    ]
    assert _run(java) == ["\n".join(java[:3]), "next line"]
    python = [
        "[2024-10-30 17:19:51 +0000] [3676] [ERROR] Exception in worker process",
        "Traceback (most recent call last):",
        '  File "x.py", line 1, in <module>',
        "ValueError: bad",
    ]
    assert _run(python) == ["\n".join(python)]


def test_a_header_is_released_at_once_when_no_trace_follows() -> None:
    joiner = Joiner()
    out, key = joiner.feed(_lines(["ERROR something failed", "INFO all good"]))
    assert _texts(out) == ["ERROR something failed", "INFO all good"] and key == (1001, 0)
    out, key = joiner.feed(_lines(["WARN disk almost full"]))
    assert out == [] and key is None  # held: a trace may follow in the next read
    assert _texts(joiner.expired(now=float("inf"))[0]) == ["WARN disk almost full"]


@pytest.mark.parametrize(
    "line",
    ["This is not an exception.", "0 errors, 2 warnings", "The ErrorHandler was registered", "errors=0 retries=1"],
)
def test_prose_about_errors_does_not_announce_a_trace(line: str) -> None:
    assert _run([line, "Traceback (most recent call last):", '  File "x.py", line 1', "KeyError: 1"]) == [
        line,
        'Traceback (most recent call last):\n  File "x.py", line 1\nKeyError: 1',
    ]


def test_a_header_with_its_own_timestamp_and_trace_does_not_glue_to_the_previous_header() -> None:
    lines = [
        "2024-01-01 12:00:00 ERROR first failure",
        "2024-01-01 12:00:01 ERROR second: java.lang.IllegalStateException: boom",
        "\tat a.B.c(B.java:1)",
    ]
    assert _run(lines) == [lines[0], "\n".join(lines[1:])]


def test_stdout_and_stderr_stay_apart() -> None:
    joiner = Joiner()
    header = [[1, 0, "stdout", "ERROR request failed", []]]
    exception, frame = "java.lang.IllegalStateException: boom", "\tat a.B.c(B.java:1)"
    trace = [[2, 0, "stderr", exception, []], [3, 0, "stderr", frame, []]]
    out = joiner.feed(header)[0] + joiner.feed(trace)[0] + joiner.flush()[0]
    assert sorted(_texts(out)) == sorted(["ERROR request failed", exception + "\n" + frame])


def test_back_to_back_traces_are_two_records_but_chains_are_one() -> None:
    first = [
        "java.lang.IllegalStateException: one",
        "\tat a.B.c(B.java:1)",
        "Caused by: java.io.IOException: disk",
        "\tat a.B.d(B.java:2)",
        "\t... 1 more",
    ]
    second = ["java.lang.IllegalArgumentException: two", "\tat a.B.e(B.java:3)"]
    assert _run(first + second) == ["\n".join(first), "\n".join(second)]
    chained = [
        "Traceback (most recent call last):",
        '  File "a.py", line 1',
        "KeyError: 'x'",
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        "Traceback (most recent call last):",
        '  File "a.py", line 3',
        "ValueError: y",
    ]
    again = ["Traceback (most recent call last):", '  File "b.py", line 9', "OSError: z"]
    assert _run(chained + again) == ["\n".join(chained), "\n".join(again)]


def test_blank_lines_stay_inside_a_trace_and_outside_after_it() -> None:
    go = ["panic: boom", "", "goroutine 1 [running]:", "main.main()", "\t/app/main.go:5 +0x1d", "", "exit status 2"]
    assert _run(go) == ["\n".join(go)]
    python = ["Traceback (most recent call last):", '  File "a.py", line 1', "KeyError: 'x'", "", "next"]
    assert _run(python) == ["\n".join(python[:3]), "", "next"]


def test_a_zap_development_stack_joins_its_log_line() -> None:
    lines = [
        "2019-09-15T17:17:18.575-0500\tWARN\ttmp/zp.go:24\tWarn",
        "main.main",
        "\t/home/brad/tmp/zp.go:24",
        "runtime.main",
        "\t/usr/local/go/src/runtime/proc.go:203",
        "2019-09-15T17:17:19.000-0500\tINFO\tx.go:1\tok",
    ]
    assert _run(lines) == ["\n".join(lines[:5]), lines[5]]


def test_postgres_detail_lines_join_only_their_own_entry() -> None:
    error = "2017-04-08 12:32:51.056 CEST [20730] postgres@mydb ERROR:  duplicate key value"
    detail = "2017-04-08 12:32:51.056 CEST [20730] postgres@mydb DETAIL:  Key (id)=(1) already exists."
    other = "2017-04-08 12:32:51.056 CEST [999] postgres@mydb DETAIL:  another backend"
    assert _run([error, detail, other]) == [error + "\n" + detail, other]


def test_tentative_lines_are_bounded_and_released_in_order() -> None:
    joiner = Joiner()
    lines = _lines(["java.lang.IllegalStateException: boom", *(["message line"] * MAX_TENTATIVE), "still text"])
    out, key = joiner.feed(lines)
    assert _texts(out) == ["java.lang.IllegalStateException: boom", *(["message line"] * MAX_TENTATIVE), "still text"]
    assert key == (1001 + MAX_TENTATIVE, 0) and [line[0] for line in out] == sorted(line[0] for line in out)
