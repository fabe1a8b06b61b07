"""The indexer's per-item handling without any server (logfleet.testing.FakeBulkEndpoint): 2xx is
stored, 409 a harmless duplicate, 429/5xx retried for that item only, any other error a dead letter
with the engine's reason; an unreachable endpoint is retried."""

from __future__ import annotations

import orjson
import pytest

from indexer.bulk import BulkWriter, Outcome, classify
from logfleet.testing import FakeBulkEndpoint


def item(doc_id: str, message: str = "m") -> tuple[bytes, bytes]:
    action = orjson.dumps({"create": {"_index": "logs-web-test", "_id": doc_id}})
    return action, orjson.dumps({"message": message, "event": {"id": doc_id}})


@pytest.mark.parametrize(("status", "outcome"), [
    (200, Outcome.STORED), (201, Outcome.STORED), (409, Outcome.DUPLICATE), (429, Outcome.RETRY),
    (500, Outcome.RETRY), (503, Outcome.RETRY), (400, Outcome.REJECTED), (404, Outcome.REJECTED),
])
def test_every_status_has_one_outcome(status: int, outcome: Outcome) -> None:
    assert classify(status) is outcome


async def test_each_item_is_handled_on_its_own() -> None:
    endpoint = FakeBulkEndpoint({"dup": [409], "busy": [429, 503], "bad": [400]})
    writer = BulkWriter(endpoint, "test", max_docs=100, max_bytes=1 << 20)
    await writer.write([item("ok"), item("dup"), item("busy"), item("bad")])
    assert (writer.stats.created, writer.stats.duplicates, writer.stats.dead_lettered) == (3, 1, 1)
    assert writer.stats.retried == 2  # "busy" twice, and nothing else
    assert [len(r) for r in endpoint.requests] == [4, 2, 1]  # only what was not final is sent again
    assert {"ok", "busy"} <= set(endpoint.stored) and "bad" not in endpoint.stored
    [letter] = [doc for doc_id, doc in endpoint.stored.items() if doc_id not in ("ok", "busy")]
    assert letter["error"]["type"] == "es_status_400" and "scripted 400" in letter["error"]["message"]
    assert letter["data_stream"]["dataset"] == "logfleet.deadletter"


async def test_an_unreachable_endpoint_is_retried_until_it_answers() -> None:
    endpoint = FakeBulkEndpoint()
    endpoint.unreachable_for = 2
    writer = BulkWriter(endpoint, "test", max_docs=100, max_bytes=1 << 20)
    await writer.write([item("a"), item("b")])
    assert set(endpoint.stored) == {"a", "b"} and writer.stats.created == 2 and writer.stats.requests == 1
