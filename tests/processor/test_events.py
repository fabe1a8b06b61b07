"""EventBuilder with enforcement and masking: what warn, strict and off do to a line, what a dead letter
holds, and (hypothesis) that every input line ends as exactly one event or one dead letter."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logfleet.core.config import Settings
from logfleet.core.model import decode_raw, encode_raw, event_id
from processor.daemon import Processor, builder_for
from processor.enforce import REASONS
from processor.events import Built, EventBuilder
from processor.policy import PolicyResolver
from tests.processor.strategies import JSON_VALUES

TS = 1_709_294_400_000_000_000
GOOD = orjson.dumps(
    {"@timestamp": "2024-03-01T12:00:00.123Z", "log.level": "info", "message": "paid", "service.name": "billing"}
).decode()
BAD = '{"level":"warning","msg":"slow query"}'
PLAIN = "Exception in thread main"
# structlog's default JSON: not the canonical form, but it says when, how bad and what (the container says who)
STRUCTLOG = '{"event":"cache warm","level":"info","timestamp":"2024-03-01T11:59:59.5Z"}'



def record(lines: list[Any], labels: dict[str, str] | None = None, cid: str = "c0ffee") -> dict[str, Any]:
    return {
        "v": 1,
        "host": "host-1",
        "container": {
            "id": cid,
            "name": "billing-1",
            "image": "billing",
            "compose_service": "billing",
            "labels": labels or {},
        },
        "lines": [[TS + i, 0, "stdout", text, []] for i, text in enumerate(lines)],
    }


def docs(body: bytes) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(action, document) pairs of a _bulk body."""
    lines = body.splitlines()
    return [(orjson.loads(a), orjson.loads(d)) for a, d in zip(lines[0::2], lines[1::2], strict=True)]


def test_warn_indexes_every_line_and_tags_the_violations() -> None:
    built = EventBuilder("ns").bulk_lines(record([GOOD, BAD, PLAIN]))
    assert (built.event_count, built.dead_letter_count, built.dead_letters) == (3, 0, b"")
    (_, good), (_, bad), (_, plain) = docs(built.events)
    assert good["logfleet"] == {"format": "json", "policy": "warn", "schema": "v1"}
    assert bad["logfleet"]["violations"] == ["missing_field:@timestamp", "alias:message", "alias:log.level"]
    assert plain["logfleet"]["violations"] == ["missing_field:@timestamp", "missing_field:log.level", "not_json"]
    assert bad["message"] == "slow query" and bad["log"]["level"] == "warn"  # parsed all the same


def test_strict_sends_violations_to_the_dead_letter_stream() -> None:
    builder = EventBuilder("ns")
    built = builder.bulk_lines(record([GOOD, BAD, PLAIN, STRUCTLOG], {"logfleet.format": "strict"}))
    assert (built.event_count, built.dead_letter_count) == (2, 2)
    [(action, event), (_, structlog)] = docs(built.events)
    assert action["create"]["_index"] == "logs-billing-ns"
    assert event["logfleet"] == {"format": "json", "policy": "strict", "schema": "v1"}
    assert structlog["logfleet"] == {
        "format": "json",
        "policy": "strict",
        "schema": "v1",
        "dialect": "structlog",
        "violations": ["alias:@timestamp", "alias:message", "alias:log.level", "wrong_type:event"],  # kept
    }
    (action, bad), (_, plain) = docs(built.dead_letters)
    eid = event_id("c0ffee", TS + 1, "stdout", 0)
    assert action["create"] == {
        "_index": "logs-logfleet.deadletter-ns",
        "_id": hashlib.blake2b(f"dlq|{eid}|missing_field:@timestamp".encode(), digest_size=16).hexdigest(),
    }
    assert bad["error"]["type"] == "missing_field:@timestamp"
    assert bad["logfleet"]["violations"][0] == "missing_field:@timestamp"
    assert bad["logfleet"]["policy"] == "strict"
    assert bad["logfleet"]["event_id"] == eid
    assert bad["logfleet"]["target_index"] == "logs-billing-ns"
    assert bad["event"]["original"] == BAD
    assert bad["@timestamp"] == "2024-03-01T12:00:00.000000001Z"
    assert bad["container"]["name"] == "billing-1" and bad["host"]["name"] == "host-1"
    assert bad["service"]["name"] == "billing" and bad["stream"] == "stdout"
    assert bad["data_stream"]["dataset"] == "logfleet.deadletter"
    assert plain["error"]["type"] == "missing_field:@timestamp" and plain["event"]["original"] == PLAIN
    assert plain["logfleet"]["violations"][-1] == "not_json"
    assert builder.violations["not_json", "strict"] == 1
    assert builder.violations["alias:message", "strict"] == 2
    assert builder.dead_letter_reasons == {"missing_field:@timestamp": 2}


def test_a_replayed_record_gives_the_same_ids() -> None:
    lines = [GOOD, BAD, PLAIN]
    first = EventBuilder("ns").bulk_lines(record(lines, {"logfleet.format": "strict"}))
    again = EventBuilder("ns").bulk_lines(record(lines, {"logfleet.format": "strict"}))
    ids = [a["create"]["_id"] for a, _ in docs(first.events) + docs(first.dead_letters)]
    assert ids == [a["create"]["_id"] for a, _ in docs(again.events) + docs(again.dead_letters)]


def test_off_checks_nothing() -> None:
    built = EventBuilder("ns").bulk_lines(record([BAD, PLAIN], {"logfleet.format": "off"}))
    assert built.event_count == 2
    assert [d["logfleet"] for _, d in docs(built.events)] == [
        {"format": "json", "policy": "off", "schema": "v1"},
        {"format": "plain", "policy": "off", "schema": "v1"},
    ]


def test_policy_comes_from_the_settings_when_no_label_says() -> None:
    settings = dataclasses.replace(
        Settings(), namespace="ns", format_policy="off", format_policy_services="billing=strict"
    )
    builder = builder_for(settings)
    assert builder.bulk_lines(record([BAD])).dead_letter_count == 1  # compose service billing: strict
    web = record([BAD]) | {"container": {"id": "x", "name": "web"}}  # no override for web: the default, off
    assert builder.bulk_lines(web).event_count == 1


def test_unprocessable_lines_become_dead_letters_and_the_rest_goes_on() -> None:
    rec = record([GOOD])
    rec["lines"] += ["not a line", [TS, 1, "stdout"], [TS, 2, "stdout", 12345, []], ["ts", 3, "stdout", "x", []]]
    builder = EventBuilder("ns")
    built = builder.bulk_lines(rec)
    assert (built.event_count, built.dead_letter_count) == (1, 4)
    reasons = {d["error"]["type"] for _, d in docs(built.dead_letters)}
    assert reasons == {"unprocessable_line"}
    assert builder.dead_letter_reasons["unprocessable_line"] == 4


def test_odd_container_metadata_does_not_stop_a_record() -> None:
    for container in (None, "text", {"labels": "x"}, {"labels": {"logfleet.format": 5}}, {"id": 5, "name": None}):
        built = EventBuilder("ns").bulk_lines(
            {"host": 1, "container": container, "lines": [[TS, 0, "stdout", GOOD, []]]}
        )
        assert built.event_count + built.dead_letter_count == 1


def test_an_unreadable_raw_record_is_one_dead_letter() -> None:
    processor = Processor(dataclasses.replace(Settings(), namespace="ns"))
    built = processor.build(SimpleNamespace(value=b"\x00garbage", topic="raw", partition=2, offset=7))
    assert (built.event_count, built.dead_letter_count) == (0, 1)
    [(_, doc)] = docs(built.dead_letters)
    assert doc["error"]["type"] == "unreadable_raw_record" and "raw/2/7" in doc["message"]


def test_metrics_have_bounded_labels() -> None:
    processor = Processor(dataclasses.replace(Settings(), namespace="ns"))
    processor.builder.bulk_lines(record([BAD, PLAIN, "password=hunter22"], {"logfleet.format": "strict"}))
    metrics = processor.metrics()
    violations = {dict(m.labels)["reason"] for m in metrics if m.name == "processor_format_violations_total"}
    assert violations <= REASONS and "not_json" in violations
    masked = {dict(m.labels)["kind"]: m.value for m in metrics if m.name == "processor_lines_masked_total"}
    assert masked == {"pair": 1}
    assert all({k for k, _ in m.labels} <= {"reason", "policy", "kind"} for m in metrics)


# --- every line ends as exactly one event or one dead letter ----------------------------------------

STANDARD_KEYS = st.sampled_from(
    ["@timestamp", "log.level", "message", "service.name", "log", "labels", "error", "password"]
)
OBJECTS = st.dictionaries(st.one_of(STANDARD_KEYS, st.text(max_size=10)), JSON_VALUES, max_size=8)
TEXTS = st.one_of(
    st.binary(max_size=300).map(lambda raw: raw.decode("utf-8", errors="replace")),
    OBJECTS.map(lambda obj: orjson.dumps(obj).decode()),
    st.sampled_from([GOOD, BAD, PLAIN, "-----BEGIN RSA PRIVATE KEY-----", "x" * 70_000]),
)


def _count(built: Built, lines: int) -> None:
    events = docs(built.events)
    dead = docs(built.dead_letters)
    assert len(events) == built.event_count and len(dead) == built.dead_letter_count
    assert built.event_count + built.dead_letter_count == lines
    ids = [d["event"]["id"] for _, d in events] + [d["logfleet"]["event_id"] for _, d in dead]
    assert len(set(ids)) == lines  # one output per input line, none twice


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(texts=st.lists(TEXTS, min_size=1, max_size=12), policy=st.sampled_from(["strict", "warn", "off"]))
def test_every_line_is_one_event_or_one_dead_letter(texts: list[str], policy: str) -> None:
    raw = decode_raw(
        encode_raw(
            "h",
            {"id": "c1", "name": "n", "labels": {"logfleet.format": policy}},
            [
                [TS + i, i % 3, ["stdout", "stderr"][i % 2], text, ["truncated"] if i % 5 == 4 else []]
                for i, text in enumerate(texts)
            ],
        )
    )
    _count(EventBuilder("ns").bulk_lines(raw), len(texts))


@settings(max_examples=150, deadline=None)
@given(
    value=st.one_of(
        st.binary(max_size=200),
        OBJECTS.map(orjson.dumps),
        st.builds(
            lambda lines: orjson.dumps({"v": 1, "container": {}, "lines": lines}), st.lists(JSON_VALUES, max_size=4)
        ),
    )
)
def test_any_kafka_record_value_gives_output_and_never_raises(value: bytes) -> None:
    processor = Processor(dataclasses.replace(Settings(), namespace="ns"))
    built = processor.build(SimpleNamespace(value=value, topic="raw", partition=0, offset=1))
    assert built.event_count + built.dead_letter_count >= 1 or built.events == built.dead_letters == b""
    docs(built.events)
    docs(built.dead_letters)


def test_strict_resolver_default_is_used_by_the_builder() -> None:
    builder = EventBuilder("ns", policies=PolicyResolver("strict"))
    assert builder.bulk_lines(record([PLAIN])).dead_letter_count == 1


# --- commit after both topics acknowledged ----------------------------------------------------------


class FakeProducer:
    """Records sends; the future of a send to ``fail_topic`` fails (a broker that never acknowledged)."""

    def __init__(self, fail_topic: str = "") -> None:
        self.fail_topic = fail_topic
        self.sent: list[tuple[str, bytes]] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> asyncio.Future[None]:
        self.sent.append((topic, value))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if topic == self.fail_topic:
            future.set_exception(KafkaTimeoutError())
        else:
            future.set_result(None)
        return future


def _kafka_record(lines: list[str], offset: int, labels: dict[str, str]) -> SimpleNamespace:
    value = encode_raw("h", {"id": "c1", "name": "n", "labels": labels}, [[TS, 0, "stdout", t, []] for t in lines])
    return SimpleNamespace(value=value, key=b"c1", topic="raw", partition=0, offset=offset)


async def test_a_batch_fails_unless_both_topics_acknowledged() -> None:
    settings = dataclasses.replace(Settings(), namespace="ns", topic_events="ev", topic_dlq="dlq")
    processor = Processor(settings)
    batch = [_kafka_record([GOOD, PLAIN], 0, {"logfleet.format": "strict"})]
    failing = FakeProducer(fail_topic="dlq")
    with pytest.raises(KafkaTimeoutError):  # the consume loop then rewinds instead of committing
        await processor.handle_batch(failing, batch)  # type: ignore[arg-type]
    assert [topic for topic, _ in failing.sent] == ["ev", "dlq"]
    assert (processor.records_in, processor.events_out, processor.dead_letters) == (0, 0, 0)

    working = FakeProducer()
    await processor.handle_batch(working, batch)  # type: ignore[arg-type]

    def ids(sent: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
        return [(topic, action["create"]["_id"]) for topic, body in sent for action, _ in docs(body)]

    assert ids(working.sent) == ids(failing.sent)  # sent again with the same _ids: no second document
    assert (processor.records_in, processor.events_out, processor.dead_letters) == (1, 1, 1)
