"""What the real lines of the dialect golden files (golden/dialect_*.input, sources in golden/SOURCES.md)
mean for the format check: the default output of Elastic's ECS logging libraries complies, and the
other loggers' lines say when, how bad and what, except where the logger itself left something out."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.enforce import ESSENTIAL
from processor.parse import parse_line
from tests.processor.checking import check_line
from tests.processor.golden.regenerate import input_lines

GOLDEN = Path(__file__).parent / "golden"
DOCKER_NS = 1_796_285_400_000_000_000  # when these lines were collected (2026-12-03)
DIALECT_FILES = sorted(path.name.removesuffix(".input") for path in GOLDEN.glob("dialect_*.input"))
ECS_FILES = [name for name in DIALECT_FILES if name.startswith("dialect_ecs_")]
OTHER_FILES = [name for name in DIALECT_FILES if not name.startswith("dialect_ecs_")]
# (file, line number): lines that lack something essential because their logger did not write it.
LACKING = {
    ("dialect_bunyan", 1): "a comment line of the corpus",
    ("dialect_bunyan", 9): "a comment line of the corpus",
    ("dialect_bunyan", 16): "a comment line of the corpus",
    ("dialect_bunyan", 17): "the corpus' bogus line",
    ("dialect_bunyan", 18): "the corpus' bogus JSON",
    ("dialect_dotnet", 1): "TimestampFormat 'hh:mm:ss ' writes no day",
    ("dialect_dotnet", 2): "the console JSON formatter writes no time by default",
    ("dialect_dotnet", 3): "the console JSON formatter writes no time by default",
    ("dialect_gelf", 2): "no timestamp: GELF lets the server stamp it",
    ("dialect_tracing", 5): "an event with fields but no message",
    ("dialect_zerolog", 3): "Err() without Msg(): no message",
}


@pytest.mark.parametrize("name", ECS_FILES)
def test_the_ecs_logging_libraries_default_output_complies(name: str) -> None:
    for number, line in enumerate(input_lines(GOLDEN / f"{name}.input"), start=1):
        assert check_line(line, docker_ns=DOCKER_NS) == [], f"{name}.input line {number}"
        assert parse_line(line).format == "json"


@pytest.mark.parametrize("name", OTHER_FILES)
def test_other_loggers_say_when_how_bad_and_what(name: str) -> None:
    for number, line in enumerate(input_lines(GOLDEN / f"{name}.input"), start=1):
        essential = [r for r in check_line(line, docker_ns=DOCKER_NS) if r in ESSENTIAL]
        assert bool(essential) == ((name, number) in LACKING), f"{name}.input line {number}: {essential}"
