"""``@timestamp`` is the time a line states, ``event.created`` Docker's: the bounds that keep a wrong
clock out, what an event records when it refuses a time, and dead letters that still replay."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from logfleet.core import deadletter
from logfleet.core.config import Settings
from logfleet.core.model import event_id, format_ts
from logfleet.ops.replay import RebuiltLine, rebuild
from processor.daemon import builder_for
from processor.events import EventBuilder
from processor.parse.eventtime import NS

DOCKER = 1_709_294_400_000_000_000  # 2024-03-01T12:00:00Z, when Docker received the line
DAY = 86_400 * NS


def record(texts: list[str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = {"com.docker.compose.service": "billing", **(labels or {})}
    container = {"id": "c0ffee", "name": "billing-1", "compose_service": "billing", "labels": labels}
    lines = [[DOCKER, i, "stdout", text, []] for i, text in enumerate(texts)]
    return {"v": 1, "host": "h", "container": container, "lines": lines}


def events(texts: list[str], builder: EventBuilder | None = None) -> list[dict[str, Any]]:
    body = (builder or EventBuilder("ns")).bulk_lines(record(texts)).events.splitlines()
    return [orjson.loads(doc) for doc in body[1::2]]


def line(stamp: Any, **extra: Any) -> str:
    return orjson.dumps({"@timestamp": stamp, "log.level": "info", "message": "m", **extra}).decode()


def test_the_stated_time_is_the_timestamp_to_the_nanosecond() -> None:
    [event] = events([line("2024-03-01T11:59:58.123456789Z")])
    assert event["@timestamp"] == "2024-03-01T11:59:58.123456789Z"
    assert event["event"]["created"] == format_ts(DOCKER)
    assert "timestamp_rejected" not in event["logfleet"] and "stated_time" not in event["logfleet"]


@pytest.mark.parametrize(
    ("text", "stamp"),
    [
        ('{"level":"info","msg":"m","time":"2024-03-01T12:59:59.5+01:00"}', "2024-03-01T11:59:59.500000000Z"),
        ('{"level":30,"time":1709294399250,"msg":"m","pid":1,"hostname":"h"}', "2024-03-01T11:59:59.250000000Z"),
        ('{"level":"info","ts":1709294399.000123,"msg":"m","caller":"x"}', "2024-03-01T11:59:59.000123000Z"),
        ("Mar  1 11:59:59 host app[1]: started", "2024-03-01T11:59:59.000000000Z"),  # the year is Docker's
        ('10.0.0.1 - - [01/Mar/2024:11:59:59 +0000] "GET / HTTP/1.1" 200 5', "2024-03-01T11:59:59.000000000Z"),
        ("<13>1 2024-03-01T11:59:59.5Z host app - - - started", "2024-03-01T11:59:59.500000000Z"),
        ("plain text says no time", format_ts(DOCKER)),
        ('{"msg":"a JSON line without a time"}', format_ts(DOCKER)),
    ],
)
def test_every_format_that_states_a_time(text: str, stamp: str) -> None:
    [event] = events([text])
    assert event["@timestamp"] == stamp
    assert event["event"]["created"] == format_ts(DOCKER)


@pytest.mark.parametrize(
    ("stamp", "reason"),
    [
        ("2024-03-01T12:05:00.001Z", "in_future"),  # more than 5 minutes ahead of Docker
        ("2024-01-30T11:59:59.999Z", "too_old"),  # more than 30 days behind
        ("yesterday", "unparsable"),
        ("2024-02-30T12:00:00.000Z", "unparsable"),
    ],
)
def test_a_time_too_far_from_dockers_is_recorded_and_not_used(stamp: str, reason: str) -> None:
    [event] = events([line(stamp)])
    assert event["@timestamp"] == format_ts(DOCKER)
    assert event["logfleet"]["timestamp_rejected"] == reason
    assert event["logfleet"]["stated_time"] == stamp


@pytest.mark.parametrize("stamp", ["2024-03-01T12:05:00.000Z", "2024-01-31T12:00:00.000Z", "2024-02-15T00:00:00Z"])
def test_within_the_bounds_the_stated_time_wins(stamp: str) -> None:
    [event] = events([line(stamp)])
    assert event["@timestamp"][:19] == stamp[:19]


def test_the_bounds_come_from_the_settings() -> None:
    settings = dataclasses.replace(Settings(), namespace="ns", format_max_future_s=60, event_time_max_past_s=86_400)
    builder = builder_for(settings)
    assert builder.max_past_ns == DAY
    [ahead, behind, fine] = events(
        [line("2024-03-01T12:01:00.001Z"), line("2024-02-29T11:59:59.999Z"), line("2024-02-29T12:00:01Z")], builder
    )
    assert ahead["logfleet"]["timestamp_rejected"] == "in_future"
    assert behind["logfleet"]["timestamp_rejected"] == "too_old"
    assert fine["@timestamp"] == "2024-02-29T12:00:01.000000000Z"


def test_events_name_the_dialect() -> None:
    structlog, ecs, canonical = events(
        [
            '{"event":"hello","level":"warning","timestamp":"2024-03-01T11:59:59.5Z"}',
            line("2024-03-01T11:59:59Z", **{"ecs.version": "1.6.0"}),
            line("2024-03-01T11:59:59Z", **{"service.name": "billing"}),
        ]
    )
    assert structlog["logfleet"]["dialect"] == "structlog"
    assert structlog["message"] == "hello" and structlog["log"]["level"] == "warn"
    assert ecs["logfleet"]["dialect"] == "ecs"
    assert "dialect" not in canonical["logfleet"]


def _dead_letter(built_letters: bytes) -> dict[str, Any]:
    [_, doc] = built_letters.splitlines()
    return orjson.loads(doc)  # type: ignore[no-any-return]


def test_a_dead_letter_carries_the_stated_time_and_replays_with_dockers() -> None:
    text = '{"time":"2024-03-01T11:59:58.25Z","msg":"no level, no service"}'  # strict refuses it
    built = EventBuilder("ns").bulk_lines(record([text], {"logfleet.format": "strict"}))
    letter = _dead_letter(built.dead_letters)
    assert letter["@timestamp"] == "2024-03-01T11:59:58.250000000Z"
    assert letter["event"]["created"] == format_ts(DOCKER)
    rebuilt = rebuild(letter)
    assert isinstance(rebuilt, RebuiltLine)
    assert rebuilt.line[:4] == [DOCKER, 0, "stdout", text]
    assert rebuilt.event_id == event_id("c0ffee", DOCKER, "stdout", 0)


def test_an_event_elasticsearch_refused_replays_with_dockers_time() -> None:
    built = EventBuilder("ns").bulk_lines(record([line("2024-03-01T11:59:58Z")]))
    action, doc = built.events.splitlines()
    letter = _dead_letter(deadletter.of_item("ns", action, doc, "es_mapper_parsing_exception", "refused", doc.decode()))
    assert letter["@timestamp"] == "2024-03-01T11:59:58.000000000Z"
    assert letter["event"]["created"] == format_ts(DOCKER)
    rebuilt = rebuild(letter)
    assert isinstance(rebuilt, RebuiltLine) and rebuilt.line[0] == DOCKER


def test_dead_letters_written_before_event_created_still_replay() -> None:
    text = '{"msg":"old dead letter"}'
    built = EventBuilder("ns").bulk_lines(record([text], {"logfleet.format": "strict"}))
    letter = _dead_letter(built.dead_letters)
    del letter["event"]["created"]  # as dead letters were written before: @timestamp was Docker's time
    rebuilt = rebuild(letter)
    assert isinstance(rebuilt, RebuiltLine) and rebuilt.line[0] == DOCKER
