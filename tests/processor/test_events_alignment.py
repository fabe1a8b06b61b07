"""A line whose event cannot be serialised (JSON 300 deep parses, but orjson will not write it again)
becomes one dead letter and leaves the events body aligned: action and document lines in pairs."""

from __future__ import annotations

import orjson

from processor.events import EventBuilder


def test_an_unwritable_event_leaves_the_bulk_body_aligned() -> None:
    deep = '{"a":' * 300 + "1" + "}" * 300
    lines = [[1_790_000_000 * 10**9 + i, 0, "stdout", text, []] for i, text in enumerate(["before", deep, "after"])]
    container = {"id": "aa" * 32, "name": "deep", "image": "x", "labels": {}}
    built = EventBuilder("ns").bulk_lines({"v": 1, "host": "h", "container": container, "lines": lines})
    body = built.events.splitlines()
    assert len(body) == 4
    assert [next(iter(orjson.loads(line))) for line in body[0::2]] == ["create", "create"]
    assert [orjson.loads(line)["message"] for line in body[1::2]] == ["before", "after"]
    assert (built.event_count, built.dead_letter_count) == (2, 1)
    letter = orjson.loads(built.dead_letters.splitlines()[1])
    assert letter["error"]["type"] == "unprocessable_line"
