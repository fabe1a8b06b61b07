"""Hostile input through the real processor and indexer (real Kafka, real Elasticsearch stand-in).

Raw records carrying hostile lines (invalid UTF-8 as the shipper delivers it, NUL and C0 control
characters, a 10 MB line, JSON nested 10,000 deep, 10,000 distinct keys, huge numbers, timestamps far
in the past and future) are put on the raw topic; the processor and the indexer run in-process. Every
line must end as exactly one document: in its events stream (found by ``event.id``) or in the
dead-letter stream (found by ``logfleet.event_id``, the id it would have had). Records that are not
readable raw records at all end as one dead letter each. Afterwards both parts are still running and
a normal line on the same partition arrives: nothing is stuck. The field count of the events
stream's mapping does not grow with a line of 10,000 distinct keys.

Generated lines come from hypothesis (the strategies the processor's property tests use), collected
first and sent in one pipeline run per test, so each test stays well under 90 s.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterable
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from indexer.daemon import Indexer
from logfleet.clients import search
from logfleet.core.config import Settings
from logfleet.core.model import encode_raw, event_id
from processor.daemon import Processor
from tests.processor.strategies import JSON_VALUES
from tests.processor.test_parse_properties import LOGGY
from tests.support import running, wait_for

pytestmark = [pytest.mark.servers]

BASE_NS = 1_790_000_000 * 10**9
WARN: dict[str, Any] = {"id": "ab" * 32, "name": "hostile-warn", "image": "hostile", "labels": {}}
STRICT: dict[str, Any] = {
    "id": "cd" * 32, "name": "hostile-strict", "image": "hostile", "labels": {"logfleet.format": "strict"}
}
PER_RECORD = 40
BIG = 64 * 1024  # lines longer than this travel in a record of their own
C0 = "".join(chr(c) for c in range(0x20)) + "\x7f"
MB = 1024 * 1024


class Lines:
    """Lines to send, with the event id each one must end under, grouped into raw records."""

    def __init__(self) -> None:
        self.expected: dict[str, str] = {}  # event id -> a short description, for failure messages
        self.records: list[tuple[bytes, bytes]] = []  # (key, value) in sending order
        self.unreadable = 0  # records that are not raw records: one dead letter each
        self._pending: dict[str, list[list[Any]]] = collections.defaultdict(list)
        self._metas = {WARN["id"]: WARN, STRICT["id"]: STRICT}
        self._next = 0

    def add(self, text: str, flags: Iterable[str] = (), container: dict[str, Any] = WARN, ts: int | None = None) -> str:
        """Queue one line; returns its event id."""
        self._next += 1
        stamp = BASE_NS + self._next * 1000 if ts is None else ts
        eid = event_id(container["id"], stamp, "stdout", 0)
        assert eid not in self.expected, "two lines with one id"
        self.expected[eid] = repr(text[:80]) + (f"... ({len(text)} chars)" if len(text) > 80 else "")
        line = [stamp, 0, "stdout", text, list(flags)]
        if len(text) > BIG:
            self.records.append((container["id"].encode(), encode_raw("hostile-host", container, [line])))
            return eid
        pending = self._pending[container["id"]]
        pending.append(line)
        if len(pending) >= PER_RECORD:
            self.flush()
        return eid

    def add_unreadable(self, value: bytes) -> None:
        """Queue a record the processor cannot read as a raw record."""
        self.flush()
        self.records.append((WARN["id"].encode(), value))
        self.unreadable += 1

    def flush(self) -> None:
        """Turn the queued lines into records."""
        for cid, lines in self._pending.items():
            if lines:
                self.records.append((cid.encode(), encode_raw("hostile-host", self._metas[cid], lines)))
        self._pending.clear()


async def produce(cfg: Settings, lines: Lines) -> None:
    lines.flush()
    producer = AIOKafkaProducer(bootstrap_servers=cfg.kafka_bootstrap, acks="all", max_request_size=16 * MB)
    await producer.start()
    try:
        for key, value in lines.records:
            await (await producer.send(cfg.topic_raw, value, key=key))
    finally:
        await producer.stop()


async def _search_all(cfg: Settings, index: str, fields: list[str]) -> list[dict[str, Any]]:
    async with search.connect(cfg) as engine:
        answer = await engine.search(index, size=10_000, source=fields, query={"match_all": {}})
    return [hit["_source"] for hit in answer["hits"]["hits"]]


async def outcomes(cfg: Settings) -> tuple[collections.Counter[str], collections.Counter[str], list[dict[str, Any]]]:
    """(event ids in the events streams, event ids in the dead-letter stream, dead letters without one)."""
    found = await _search_all(cfg, f"logs-hostile_*-{cfg.namespace}", ["event.id"])
    events = collections.Counter(str(doc.get("event", {}).get("id")) for doc in found)  # a stray: "None"
    dead: collections.Counter[str] = collections.Counter()
    whole_records = []
    letters = await _search_all(
        cfg, f"logs-logfleet.deadletter-{cfg.namespace}", ["logfleet.event_id", "error.type", "error.message"]
    )
    for doc in letters:
        eid = doc.get("logfleet", {}).get("event_id")
        if eid:
            dead[str(eid)] += 1
        else:
            whole_records.append(doc)
    return events, dead, whole_records


async def settle(cfg: Settings, lines: Lines, within: float) -> tuple[collections.Counter[str], ...]:
    """Wait until every line has an outcome (or ``within`` passed); return the outcomes."""

    async def arrived() -> bool:
        events, dead, whole = await outcomes(cfg)
        return sum(events.values()) + sum(dead.values()) >= len(lines.expected) and len(whole) >= lines.unreadable

    await wait_for(arrived, within=within, interval=1.0)
    await asyncio.sleep(2 * cfg.bulk_interval_s + 1)  # a second copy, if any, would be there by now
    events, dead, whole = await outcomes(cfg)
    return events, dead, collections.Counter(str(doc.get("error", {}).get("type")) for doc in whole)


def check_exactly_once(lines: Lines, events: collections.Counter[str], dead: collections.Counter[str]) -> None:
    wrong = {
        eid: (what, events[eid], dead[eid])
        for eid, what in lines.expected.items()
        if events[eid] + dead[eid] != 1
    }
    assert not wrong, f"{len(wrong)} lines not exactly once (line, events, dead letters): {list(wrong.values())[:10]}"
    strays = (set(events) | set(dead)) - set(lines.expected)
    assert not strays, f"documents of lines never sent: {sorted(strays)[:5]}"


async def check_not_stuck(cfg: Settings, tasks: list[asyncio.Task[None]]) -> None:
    """Both parts still run, and a normal line on the hostile lines' partition arrives."""
    assert not any(task.done() for task in tasks), [task.exception() for task in tasks if task.done()]
    after = Lines()
    after._next = 10**6  # ids no earlier line has
    eid = after.add('{"@timestamp":"2026-01-01T00:00:00.000Z","log.level":"info","message":"after","service.name":"h"}')
    after.add("plain line after", container=STRICT)
    await produce(cfg, after)

    async def normal_line_arrived() -> bool:
        events, _, _ = await outcomes(cfg)
        return events[eid] == 1

    assert await wait_for(normal_line_arrived, within=60), "a normal line after the hostile ones did not arrive"


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _explicit_cases(lines: Lines, container: dict[str, Any]) -> None:
    def add(text: str, flags: Iterable[str] = (), ts: int | None = None) -> None:
        lines.add(text, flags, container, ts)

    # Invalid UTF-8 as the shipper delivers it: replaced visibly and flagged.
    add(b"bad \xff\xfe utf-8 \xc3\x28 \xed\xa0\x80 end".decode(errors="replace"), ["invalid_utf8"])
    add(b'{"message":"bad \xff","log.level":"info"}'.decode(errors="replace"), ["invalid_utf8"])
    # NUL and every C0 control character, raw and inside JSON (escaped).
    add("nul\x00in the middle\x00")
    add(C0)
    add(f"ctl {C0} tail")
    add(orjson.dumps({"message": C0, "log.level": "info", "service.name": C0, C0: C0}).decode())
    add('{"message":"nul \\u0000 escaped","level":"info\\u0000"}')
    # 10 MB lines (the shipper cuts at 1 MiB and flags them truncated; a raw record may still hold more).
    add("p" * (10 * MB))
    add(orjson.dumps({"message": "j" * (10 * MB), "log.level": "info", "service.name": "big"}).decode())
    add("t" * MB, ["truncated"])
    # JSON nested 10,000 deep (beyond any parser's limit), 300 deep (parses, but orjson will not write
    # it again), 30 deep (beyond the flattened field's depth limit of 20), alone and inside a document.
    for depth in (10_000, 300, 30):
        add(_nested(depth))
        add('{"message":"nested","log.level":"info","service.name":"n","deep":' + _nested(depth) + "}")
    # Huge numbers and number-like strings.
    for number in ("1e400", "-1e400", str(2**70), str(-(2**70)), "-0", "0e-400", "1" * 400, "1.5e308"):
        add(f'{{"message":"number","log.level":"info","service.name":"num","n":{number},"@timestamp":{number}}}')
        add(f"n={number} msg=logfmt level=info")
    for text in ("NaN", "Infinity", "-Infinity", "nan", "inf"):
        add(f'{{"message":"{text}","n":"{text}","log.level":"info"}}')
        add(f'{{"message":"bare","n":{text}}}')
    # Timestamps far in the past and future, in the line ...
    for stamp in ("0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999999999Z", "1969-12-31T23:59:59.999Z",
                  "0000-00-00T00:00:00.000Z", "+275760-09-13T00:00:00.000Z", "-000001-01-01T00:00:00Z"):
        doc = {"@timestamp": stamp, "time": stamp, "ts": stamp, "log.level": "info", "message": "when",
               "service.name": "time"}
        add(orjson.dumps(doc).decode())
    for epoch in (-1, -62135596800, 253402300799, 2**63, -(2**63), 10**20):
        add(f'{{"@timestamp":{epoch},"time":{epoch},"log.level":"info","message":"epoch","service.name":"t"}}')
    # ... and as Docker's own timestamp of the line (negative epoch, the epoch, the largest nanosecond).
    for ts in (-(10**18), -1, 0, 2**63 - 1):
        add(f"docker time {ts}", ts=ts)


def explicit_lines() -> Lines:
    """Every explicit case, under ``warn`` and under ``strict``, and four unreadable records."""
    lines = Lines()
    for container in (WARN, STRICT):
        _explicit_cases(lines, container)
    # Records that are not raw records: invalid UTF-8 in the JSON, a lone surrogate, not JSON at all.
    lines.add_unreadable(b'{"v":1,"host":"h","container":{"id":"x"},"lines":[[1,0,"stdout","\xff\xfe",[]]]}')
    lines.add_unreadable(b'{"v":1,"host":"h","container":{"id":"x"},"lines":[[1,0,"stdout","\\ud800",[]]]}')
    lines.add_unreadable(b"\x00\x01 not json")
    lines.add_unreadable(b'{"v":1,"lines":"not a list"}')
    return lines


async def test_explicit_hostile_lines_end_as_one_event_or_one_dead_letter(engine_settings: Settings) -> None:
    cfg = engine_settings
    lines = explicit_lines()
    processor, indexer = Processor(cfg), Indexer(cfg)
    async with running(processor, indexer) as tasks:
        await produce(cfg, lines)
        events, dead, whole = await settle(cfg, lines, within=120)
        check_exactly_once(lines, events, dead)
        assert whole == {"unreadable_raw_record": lines.unreadable}
        await check_not_stuck(cfg, tasks)
    assert processor.stats.unreadable_records == lines.unreadable
    print(
        f"\nhostile explicit: lines={len(lines.expected)} events={sum(events.values())} "
        f"dead_letters={sum(dead.values())} whole_record_dead_letters={lines.unreadable} "
        f"indexer_dead_lettered={indexer.writer.stats.dead_lettered if indexer.writer else '?'} "
        f"duplicates={indexer.writer.stats.duplicates if indexer.writer else '?'}"
    )


async def _mapping_fields(cfg: Settings, index: str) -> int:
    async with search.connect(cfg) as engine:
        answer = await engine.mapping(index)

    def count(properties: dict[str, Any]) -> int:
        return sum(1 + count(spec.get("properties", {})) for spec in properties.values())

    return sum(count(body["mappings"].get("properties", {})) for body in dict(answer).values())


async def test_ten_thousand_distinct_keys_do_not_grow_the_mapping(engine_settings: Settings) -> None:
    cfg = engine_settings
    index = f"logs-hostile_warn-{cfg.namespace}"
    first = Lines()
    first.add('{"@timestamp":"2026-01-01T00:00:00.000Z","log.level":"info","message":"first","service.name":"k"}')
    wide = Lines()
    wide._next = 10  # other ids than the first line's
    keys = {f"key_{i}": i for i in range(10_000)}
    wide.add(orjson.dumps({"message": "wide", "log.level": "info", "service.name": "k", **keys}).decode())
    wide.add(orjson.dumps({"message": "wide labels", "labels": {f"l{i}": "v" for i in range(10_000)}}).decode())
    wide.add(orjson.dumps({"message": "wide log", "log": {f"x{i}": i for i in range(10_000)}}).decode())
    wide.add(orjson.dumps({"message": "dotted", **{f"a{i}.b{i}.c": i for i in range(10_000)}}).decode())
    wide.add(" ".join(f"k{i}=v{i}" for i in range(10_000)))  # logfmt
    async with running(Processor(cfg), Indexer(cfg)) as tasks:
        await produce(cfg, first)
        events, dead, _ = await settle(cfg, first, within=60)
        check_exactly_once(first, events, dead)
        before = await _mapping_fields(cfg, index)
        await produce(cfg, wide)
        wide.expected.update(first.expected)
        events, dead, _ = await settle(cfg, wide, within=90)
        check_exactly_once(wide, events, dead)
        after = await _mapping_fields(cfg, index)
        await check_not_stuck(cfg, tasks)
    print(f"\nhostile 10k keys: mapping fields before={before} after={after} events={sum(events.values())} "
          f"dead_letters={sum(dead.values())}")
    assert before > 10  # the template's fields are there
    assert after == before


# Generated lines: the processor's property-test strategies plus hostile characters.
HOSTILE_TEXT = st.text(alphabet=st.characters(max_codepoint=0x7F) | st.sampled_from(list(C0)), max_size=300)
SHIPPED_BYTES = st.binary(max_size=300).map(lambda raw: raw.decode(errors="replace"))
JSON_LINES = st.dictionaries(st.text(max_size=12) | st.sampled_from(["@timestamp", "time", "log.level", "message",
                                                                      "service.name", "labels", "log", "error"]),
                             JSON_VALUES, max_size=8).map(lambda doc: orjson.dumps(doc).decode())
NUMBERS = st.sampled_from(["1e400", str(2**70), "-0", "NaN", "1" * 300, "-1e-400"]).map(
    lambda n: f'{{"message":"n","log.level":"info","n":{n}}}'
)
GENERATED = st.tuples(
    st.one_of(HOSTILE_TEXT, SHIPPED_BYTES, JSON_LINES, LOGGY.map(lambda s: s.encode(errors="replace").decode()),
              NUMBERS),
    st.sampled_from(["warn", "strict"]),
)


def collect(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` examples of a strategy, drawn by hypothesis's engine (no shrinking: the pipeline
    runs once over all of them, and a failure names the lines)."""
    found: list[Any] = []

    @settings(max_examples=count, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def gather(example: Any) -> None:
        found.append(example)

    gather()
    return found


async def test_generated_hostile_lines_end_as_one_event_or_one_dead_letter(engine_settings: Settings) -> None:
    cfg = engine_settings
    lines = Lines()
    examples = collect(GENERATED, 60)
    for text, policy in examples:
        lines.add(text, ["invalid_utf8"] if "\ufffd" in text else [], STRICT if policy == "strict" else WARN)
    processor, indexer = Processor(cfg), Indexer(cfg)
    async with running(processor, indexer) as tasks:
        await produce(cfg, lines)
        events, dead, whole = await settle(cfg, lines, within=90)
        check_exactly_once(lines, events, dead)
        assert not whole
        await check_not_stuck(cfg, tasks)
    assert processor.stats.unreadable_records == 0
    print(f"\nhostile generated: lines={len(lines.expected)} events={sum(events.values())} "
          f"dead_letters={sum(dead.values())}")
