"""``logfleet deadletter list|replay`` through the real CLI, on real containers' dead letters; and
``logfleet.ops.replay.rebuild`` on dead letters as the processor and the indexer build them.

Two containers write lines that break the log format while the policy is ``strict``: they become
dead letters. ``list`` shows them with reason, container and state; ``--dry-run`` sends and changes
nothing. With the policy switched to ``warn``, two replays of one container's dead letters before
the pipeline runs again put every line into the raw topic twice, yet each line becomes exactly one
event, under the event id its dead letter names; a third replay, once they are stored, sends
nothing. The other container's dead letters are left alone.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import orjson
import pytest

from indexer.daemon import Indexer
from logfleet.clients import search
from logfleet.core.bulkbody import dataset_for
from logfleet.core.config import Settings
from processor.daemon import Processor
from shipper.daemon import Shipper
from tests.processor.test_enforcement_pipeline import print_lines
from tests.support import logfleet_cli, read_topic, running, start_container, wait_for

PLAIN = 10  # "plain text" lines: missing_field:@timestamp (they say no time, no level)
LEVEL = 10  # JSON lines with an unknown level: unknown_level
GOOD = 5
LEVEL_LINE = '{"@timestamp":"2024-03-01T12:00:00.123Z","log.level":"loud","message":"odd %d","service.name":"s"}'
GOOD_LINE = '{"@timestamp":"2024-03-01T12:00:00.123Z","log.level":"info","message":"good %d","service.name":"s"}'


async def _docs(settings: Settings, index: str, name: str) -> list[dict[str, Any]]:
    async with search.connect(settings) as engine:
        answer = await engine.search(
            index, query={"term": {"container.name": name}}, size=1000, seq_no_primary_term=True
        )
    return [{**hit["_source"], "_id": hit["_id"]} for hit in answer.get("hits", {}).get("hits", [])]


def _cli_json(settings: Settings, *args: str) -> Any:
    done = logfleet_cli(settings, "deadletter", *args, "--format", "json", timeout=120)
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


@pytest.mark.servers
async def test_replay_after_policy_change_indexes_each_line_once(engine_settings: Settings) -> None:
    settings = engine_settings
    tag = uuid.uuid4().hex[:8]
    first, other = f"dl-a-{tag}", f"dl-b-{tag}"
    lines = [f"plain text {i}" for i in range(PLAIN)] + [LEVEL_LINE % i for i in range(LEVEL)]
    lines += [GOOD_LINE % i for i in range(GOOD)]
    start_container(settings, print_lines(lines), name=first).wait(timeout=60)
    start_container(settings, print_lines([f"other {i}" for i in range(5)]), name=other).wait(timeout=60)
    dead_stream = f"logs-logfleet.deadletter-{settings.namespace}"
    events_stream = f"logs-{dataset_for({'name': first})}-{settings.namespace}"

    strict = dataclasses.replace(settings, format_policy="strict")
    async with running(Shipper(strict), Processor(strict), Indexer(strict)):
        async def refused() -> bool:
            dead = await _docs(settings, dead_stream, first) + await _docs(settings, dead_stream, other)
            return len(dead) == PLAIN + LEVEL + 5 and len(await _docs(settings, events_stream, first)) == GOOD

        assert await wait_for(refused, within=90), "the strict pipeline did not dead-letter the lines"

    # list: content and filters
    listed = _cli_json(settings, "list", "--container", first)
    assert len(listed) == PLAIN + LEVEL
    assert {row["container"] for row in listed} == {first}
    assert sorted(row["reason"] for row in listed) == ["missing_field:@timestamp"] * PLAIN + ["unknown_level"] * LEVEL
    assert {row["state"] for row in listed} == {"pending"} and {row["replays"] for row in listed} == {0}
    assert sorted(row["original"] for row in listed) == sorted(lines[: PLAIN + LEVEL])
    assert all(row["@timestamp"] and row["event_id"] and row["target_index"] == events_stream for row in listed)
    only_plain = _cli_json(settings, "list", "--container", first, "--reason", "missing_field:@timestamp")
    assert sorted(row["original"] for row in only_plain) == sorted(lines[:PLAIN])
    table = logfleet_cli(settings, "deadletter", "list", "--container", other)
    assert table.returncode == 0
    assert table.stdout.splitlines()[0].split()[:4] == ["@TIMESTAMP", "REASON", "CONTAINER", "STATE"]
    assert sum(1 for row in table.stdout.splitlines() if f" {other} " in row and "pending" in row) == 5

    # --dry-run: says what it would send, sends and changes nothing
    raw_before = len(await read_topic(settings, settings.topic_raw))
    plan = _cli_json(settings, "replay", "--container", first, "--dry-run")
    assert plan["dry_run"] and plan["selected"] == PLAIN + LEVEL and plan["sent"] == 0
    assert len(await read_topic(settings, settings.topic_raw)) == raw_before
    assert {row["replays"] for row in _cli_json(settings, "list", "--container", first)} == {0}

    # two replays before the pipeline runs again: every line is in the raw topic twice
    once = _cli_json(settings, "replay", "--container", first, "--reason", "missing_field:@timestamp")
    assert once["sent"] == PLAIN and once["marked"] == PLAIN
    twice = _cli_json(settings, "replay", "--container", first)
    assert twice["sent"] == PLAIN + LEVEL and twice["skipped"] == {"resolved": 0, "not_replayable": 0}
    assert twice["marked"] == PLAIN + LEVEL and twice["mark_conflicts"] == 0  # it read the first replay's marks
    assert len(await read_topic(settings, settings.topic_raw)) > raw_before

    warn = dataclasses.replace(settings, format_policy="warn")
    indexer = Indexer(warn)
    async with running(Processor(warn), indexer):
        async def indexed() -> list[dict[str, Any]]:
            docs = await _docs(settings, events_stream, first)
            resent = indexer.writer.stats.duplicates if indexer.writer else 0
            return docs if len(docs) >= GOOD + PLAIN + LEVEL and resent >= PLAIN else []

        docs = await wait_for(indexed, within=90)
    assert len(docs) == GOOD + PLAIN + LEVEL  # each line exactly once, though sent twice (or three times)
    replayed = [doc for doc in docs if doc.get("logfleet", {}).get("violations")]
    assert {doc["_id"] for doc in replayed} == {row["event_id"] for row in listed}
    assert all(doc["logfleet"]["policy"] == "warn" for doc in replayed)
    texts = [doc.get("event", {}).get("original") or doc["message"] for doc in replayed]
    assert sorted(texts) == sorted(lines[: PLAIN + LEVEL])

    after = _cli_json(settings, "list", "--container", first)
    assert {row["state"] for row in after} == {"resolved"}
    assert sorted(row["replays"] for row in after) == [1] * LEVEL + [2] * PLAIN
    again = _cli_json(settings, "replay", "--container", first)
    assert again["sent"] == 0 and again["skipped"]["resolved"] == PLAIN + LEVEL
    assert len(await _docs(settings, events_stream, first)) == GOOD + PLAIN + LEVEL
    assert {row["state"] for row in _cli_json(settings, "list", "--container", other)} == {"pending"}


# rebuild(): dead letters as the processor and the indexer write them, read back into raw lines


def _dead_letter_docs(body: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(doc) for doc in body.splitlines()[1::2]]


META = {"id": "c0ffee" * 10 + "abcd", "name": "api-1", "image": "busybox", "image_tag": "1.36",
        "labels": {"com.docker.compose.service": "api", "com.docker.compose.project": "shop"},
        "compose_project": "shop", "compose_service": "api", "tty": False}
TS = 1_790_000_000_123_456_789


def _strict_dead_letters(lines: list[list[Any]]) -> list[dict[str, Any]]:
    from processor.events import EventBuilder
    from processor.policy import PolicyResolver

    built = EventBuilder("prod", policies=PolicyResolver("strict")).bulk_lines(
        {"v": 1, "host": "node-7", "container": META, "lines": lines}
    )
    return _dead_letter_docs(built.dead_letters)


def test_a_strict_violation_rebuilds_into_the_line_it_was() -> None:
    from logfleet.ops.replay import rebuild

    lines = [[TS, 0, "stdout", "first plain line", []], [TS, 1, "stderr", "second, cut", ["truncated"]]]
    for doc, line in zip(_strict_dead_letters(lines), lines, strict=True):
        rebuilt = rebuild(doc)
        assert not isinstance(rebuilt, str), rebuilt
        assert rebuilt.line == line and rebuilt.host == "node-7"
        assert rebuilt.target_index == "logs-api-prod" and rebuilt.event_id == doc["logfleet"]["event_id"]
        assert {k: rebuilt.container[k] for k in ("id", "name", "image", "image_tag", "compose_service")} == {
            k: META[k] for k in ("id", "name", "image", "image_tag", "compose_service")
        }


def test_a_dead_letter_without_its_ordinal_finds_it_from_its_event_id() -> None:
    from logfleet.ops.replay import rebuild

    (doc,) = _strict_dead_letters([[TS, 7, "stdout", "seventh line sharing a timestamp", []]])
    del doc["event"]["sequence"]  # as dead letters were written before they kept it
    rebuilt = rebuild(doc)
    assert not isinstance(rebuilt, str) and rebuilt.line[1] == 7


def test_a_dead_letter_whose_identity_was_altered_is_not_replayed() -> None:
    from logfleet.ops.replay import rebuild

    (doc,) = _strict_dead_letters([[TS, 0, "stdout", "a line", []]])
    doc["stream"] = "stderr"  # would become another event id: a second copy of the line
    assert "event id" in str(rebuild(doc))
    (doc,) = _strict_dead_letters([[TS, 0, "stdout", "a line", []]])
    doc["container"]["labels"]["com.docker.compose.service"] = "web"  # would land in another data stream
    assert "no longer leads to logs-api-prod" in str(rebuild(doc))


def test_an_event_elasticsearch_refused_rebuilds_from_the_event() -> None:
    from indexer.bulk import dead_letter
    from logfleet.core.bulkbody import split_items
    from logfleet.ops.replay import rebuild
    from processor.events import EventBuilder

    line = [TS, 2, "stdout", '{"message":"m","log.level":"info"}', []]
    built = EventBuilder("prod").bulk_lines({"v": 1, "host": "node-7", "container": META, "lines": [line]})
    ((action, event),) = split_items(built.events)
    _, dead = dead_letter("prod", action, event, {"type": "mapper_parsing_exception", "reason": "bad"})
    rebuilt = rebuild(orjson.loads(dead))
    assert not isinstance(rebuilt, str), rebuilt
    assert rebuilt.line == line and rebuilt.event_id == orjson.loads(action)["create"]["_id"]


def test_an_unreadable_raw_record_is_not_replayable() -> None:
    from logfleet.core import deadletter
    from logfleet.ops.replay import rebuild

    body = deadletter.bulk_lines("prod", "unreadable_raw_record", "bad", "not a record", seed="raw/0/1")
    assert "could not be read" in str(rebuild(_dead_letter_docs(body)[0]))
