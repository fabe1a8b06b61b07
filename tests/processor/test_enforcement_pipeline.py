"""Real containers through shipper -> Kafka -> processor -> Kafka -> indexer -> Elasticsearch: a
strict-policy container's bad lines are dead letters (topic and data stream, with reasons), a
warn-policy container's bad lines are indexed with their reasons, compliant lines are indexed clean;
and no secret of tests/processor/secrets.txt reaches the events (or dead-letter) topic."""

from __future__ import annotations

import base64
import collections
import uuid
from typing import Any

import orjson
import pytest

from indexer.daemon import Indexer
from logfleet.clients.search import connect
from logfleet.core.bulkbody import dataset_for
from logfleet.core.config import Settings
from processor.daemon import Processor
from shipper.daemon import Shipper
from tests.processor.test_masking import ROWS
from tests.support import read_topic, running, start_container, wait_for

pytestmark = [pytest.mark.servers]

GOOD_EACH = 50
BAD_EACH = 10
# Line templates (``%d`` is the line number) that do not say when, how bad, what or who, and the first
# reason each must get: strict refuses them.
BAD = {
    '{"@timestamp":"2024-03-01T12:00:00.123Z","log.level":"info","service.name":"s","text":"no message %d"}': (
        "missing_field:message"
    ),
    '{"@timestamp":"2024-03-01T12:00:00.123Z","log.level":"loud","message":"bad level %d","service.name":"s"}': (
        "unknown_level"
    ),
    '{"log.level":"info","message":"no time %d","service.name":"s"}': "missing_field:@timestamp",
    '{"@timestamp":"2999-01-01T00:00:00.000Z","log.level":"info","message":"future %d","service.name":"s"}': (
        "timestamp_in_future"
    ),
}
GOOD = '{"@timestamp":"2024-03-01T12:00:00.123Z","log.level":"info","message":"good %d","service.name":"s"}'
# Says it all under other names: strict keeps it, with its distance from the canonical form.
KEPT = '{"time":"2024-03-01T12:00:00.123Z","level":"warning","msg":"kept %d","service":{"name":"s"}}'
KEPT_REASONS = ["alias:@timestamp", "alias:message", "alias:log.level"]


def script() -> str:
    """A shell script printing GOOD_EACH compliant lines, then BAD_EACH lines of each bad kind."""
    lines = [GOOD % i for i in range(GOOD_EACH)] + [KEPT % i for i in range(BAD_EACH)]
    for template in BAD:
        lines += [template % i for i in range(BAD_EACH)]
    return print_lines(lines)


def print_lines(lines: list[str]) -> str:
    """A shell script printing these lines exactly (base64 spares us shell quoting)."""
    encoded = base64.b64encode(("\n".join(lines) + "\n").encode()).decode()
    return f"echo {encoded} | base64 -d"


def bulk_docs(records: list[Any]) -> list[dict[str, Any]]:
    """The documents (not the action lines) of every _bulk body in these Kafka records."""
    out = []
    for record in records:
        lines = record.value.splitlines()
        out.extend(orjson.loads(doc) for doc in lines[1::2])
    return out


async def search(settings: Settings, index: str, name: str) -> list[dict[str, Any]]:
    async with connect(settings) as engine:
        answer = await engine.search(index, query={"term": {"container.name": name}}, size=1000)
    return [hit["_source"] for hit in answer.get("hits", {}).get("hits", [])]


async def test_strict_dead_letters_and_warn_tags_and_clean_compliant_lines(pipeline_settings: Settings) -> None:
    settings = pipeline_settings
    tag = uuid.uuid4().hex[:8]
    strict, warn = f"strict-{tag}", f"warn-{tag}"
    start_container(settings, script(), name=strict, labels={"logfleet.format": "strict"}).wait(timeout=60)
    start_container(settings, script(), name=warn).wait(timeout=60)  # no label: the default, warn
    dlq_stream = f"logs-logfleet.deadletter-{settings.namespace}"
    bad_total = BAD_EACH * len(BAD)

    def events_index(name: str) -> str:
        return f"logs-{dataset_for({'name': name})}-{settings.namespace}"

    async def all_indexed() -> bool:
        counts = (
            len(await search(settings, events_index(strict), strict)),
            len(await search(settings, dlq_stream, strict)),
            len(await search(settings, events_index(warn), warn)),
        )
        return counts == (GOOD_EACH + BAD_EACH, bad_total, GOOD_EACH + BAD_EACH + bad_total)

    async with running(Shipper(settings), Processor(settings), Indexer(settings)):
        assert await wait_for(all_indexed, within=120), "not everything arrived in Elasticsearch"

    # strict: the compliant lines are events, clean; the others are dead letters with their reasons
    strict_events = await search(settings, events_index(strict), strict)
    kept = {f"kept {i}" for i in range(BAD_EACH)}
    assert {d["message"] for d in strict_events} == {f"good {i}" for i in range(GOOD_EACH)} | kept
    assert all(d["logfleet"]["policy"] == "strict" for d in strict_events)
    for doc in strict_events:
        assert doc["logfleet"].get("violations") == (KEPT_REASONS if doc["message"] in kept else None)
    dead = await search(settings, dlq_stream, strict)
    assert collections.Counter(d["error"]["type"] for d in dead) == {reason: BAD_EACH for reason in BAD.values()}
    for doc in dead:
        assert doc["logfleet"]["violations"][0] == doc["error"]["type"]
        assert doc["logfleet"]["policy"] == "strict" and doc["logfleet"]["schema"] == "v1"
        assert doc["container"]["name"] == strict and doc["host"]["name"] and doc["stream"] == "stdout"
    originals = {d["event"]["original"] for d in dead}
    assert originals == {template % i for template in BAD for i in range(BAD_EACH)}

    # ... and they travelled on the dead-letter topic
    on_topic = [
        d for d in bulk_docs(await read_topic(settings, settings.topic_dlq)) if d["container"]["name"] == strict
    ]
    assert sorted(d["event"]["original"] for d in on_topic) == sorted(originals)

    # warn: everything is an event; the bad lines carry their reasons, the compliant ones none
    warn_events = await search(settings, events_index(warn), warn)
    tagged = [d for d in warn_events if "violations" in d["logfleet"]]
    assert len(tagged) == bad_total + BAD_EACH
    first_reasons = {r: BAD_EACH for r in [*BAD.values(), KEPT_REASONS[0]]}
    assert collections.Counter(d["logfleet"]["violations"][0] for d in tagged) == first_reasons
    assert all(d["logfleet"]["policy"] == "warn" for d in warn_events)
    assert {d["message"] for d in warn_events if "violations" not in d["logfleet"]} == {
        f"good {i}" for i in range(GOOD_EACH)
    }
    assert not [d for d in await search(settings, dlq_stream, warn)]


async def test_no_secret_reaches_the_events_topic(pipeline_settings: Settings) -> None:
    settings = pipeline_settings
    lines = [line for _, _, line in ROWS]
    expected = sum(line.count("\n") + 1 for line in lines)
    tag = uuid.uuid4().hex[:8]
    start_container(settings, print_lines(lines), name=f"secrets-warn-{tag}").wait(timeout=60)
    start_container(
        settings, print_lines(lines), name=f"secrets-strict-{tag}", labels={"logfleet.format": "strict"}
    ).wait(timeout=60)

    processor = Processor(settings)

    async def processed_all() -> bool:
        return processor.events_out + processor.dead_letters >= 2 * expected

    async with running(Shipper(settings), processor):
        assert await wait_for(processed_all, within=90)

    events = await read_topic(settings, settings.topic_events)
    dead = await read_topic(settings, settings.topic_dlq)
    assert len(bulk_docs(events)) + len(bulk_docs(dead)) == 2 * expected
    for topic_records in (events, dead):
        payload = b"".join(record.value for record in topic_records)
        leaked = [secret for _, secret, _ in ROWS if secret.encode() in payload]
        assert not leaked
        for doc in bulk_docs(topic_records):  # nor hidden by JSON escapes
            text = orjson.dumps(doc).decode()
            assert not [secret for _, secret, _ in ROWS if secret in text]
    assert b"***" in b"".join(record.value for record in events)
    assert processor.stats.lines_masked.keys() >= {"url_password", "pair", "bearer", "aws_key", "private_key", "card"}
