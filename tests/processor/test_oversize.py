"""``processor.oversize.fit``: bodies over Kafka's message limit are split, and an item too large on its
own becomes a small dead letter with its event id (a unit test of the one module, small limits)."""

from __future__ import annotations

import orjson

from logfleet.core import deadletter
from processor.events import Built, EventBuilder
from processor.oversize import LIMIT, REASON, fit

CONTAINER = {"id": "ef" * 32, "name": "big-one", "image": "x", "labels": {}}


def _built(texts: list[str]) -> Built:
    lines = [[1_790_000_000 * 10**9 + i, 0, "stdout", text, []] for i, text in enumerate(texts)]
    return EventBuilder("ns").bulk_lines({"v": 1, "host": "h", "container": CONTAINER, "lines": lines})


def _items(bodies: list[bytes]) -> list[dict[str, object]]:
    return [orjson.loads(line) for body in bodies for line in body.splitlines()[1::2]]


def test_a_body_under_the_limit_passes_untouched() -> None:
    built = _built(["small", "lines"])
    fitted = fit(built, "ns")
    assert fitted.events == [built.events]
    assert fitted.dead_letters == []
    assert (fitted.event_count, fitted.dead_letter_count) == (2, 0)
    assert LIMIT < 16 * 1024 * 1024


def test_a_large_body_is_split_in_order_under_the_limit() -> None:
    texts = [f"line {i} " + "x" * 3000 for i in range(40)]
    built = _built(texts)
    fitted = fit(built, "ns", limit=20_000)
    assert len(fitted.events) > 1
    assert all(len(body) <= 20_000 for body in fitted.events)
    assert b"".join(fitted.events) == built.events
    assert [doc["message"] for doc in _items(fitted.events)] == texts
    assert (fitted.event_count, fitted.dead_letter_count) == (40, 0)


def test_an_item_too_large_alone_becomes_a_dead_letter_with_its_event_id() -> None:
    texts = ["before", orjson.dumps({"message": "j" * 50_000, "log.level": "info"}).decode(), "after"]
    built = _built(texts)
    ids = [doc["event"]["id"] for doc in _items([built.events])]  # type: ignore[index]
    fitted = fit(built, "ns", limit=40_000)
    assert [doc["message"] for doc in _items(fitted.events)] == ["before", "after"]
    (letter,) = _items(fitted.dead_letters)
    assert letter["error"]["type"] == REASON  # type: ignore[index]
    assert letter["logfleet"] == {"target_index": "logs-big_one-ns", "event_id": ids[1]}
    assert letter["container"] == {"id": CONTAINER["id"], "name": "big-one"}
    assert 0 < len(letter["event"]["original"]) <= 10_000  # type: ignore[index]
    assert (fitted.event_count, fitted.dead_letter_count) == (2, 1)
    assert all(len(body) <= 40_000 for body in fitted.events + fitted.dead_letters)


def test_a_dead_letter_too_large_keeps_the_event_id_it_stands_for() -> None:
    doc = {"message": "m", "event": {"original": "o" * 50_000}, "logfleet": {"event_id": "e1", "target_index": "t"}}
    body = orjson.dumps({"create": {"_index": deadletter.stream_name("ns"), "_id": "dl1"}}) + b"\n"
    body += orjson.dumps(doc) + b"\n"
    fitted = fit(Built(dead_letters=body, dead_letter_count=1), "ns", limit=40_000)
    (letter,) = _items(fitted.dead_letters)
    assert letter["logfleet"] == {"target_index": "t", "event_id": "e1"}
    assert (fitted.event_count, fitted.dead_letter_count) == (0, 1)
