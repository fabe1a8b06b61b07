"""Multiline joining on the fluent-bit multiline cases (../shared/corpora/fluent-bit/
derived_multiline_cases.json, extracted from fluent-bit's tests/internal/multiline.c)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipper.frames import Line
from shipper.multiline import Joiner

_BESIDE = Path(__file__).resolve().parents[3] / "shared" / "corpora"
CORPORA = _BESIDE if _BESIDE.is_dir() else Path("/work/shared/corpora")
CASES = CORPORA / "fluent-bit" / "derived_multiline_cases.json"


def _lines(texts: list[str], stream: str = "stderr") -> list[Line]:
    return [[1_000 + i, 0, stream, text.rstrip("\n"), []] for i, text in enumerate(texts)]


@pytest.mark.skipif(not CASES.exists(), reason="shared corpora not beside the repository")
@pytest.mark.parametrize("case", ["java", "python", "go"])
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
