"""Stand-ins for a Kafka producer, a Kafka consumer and a ``_bulk`` endpoint, for server-free unit tests.

They implement only the calls logfleet makes (as httpx ships a mock transport for its own users):
:class:`FakeProducer` hands out one future per ``send`` that the test resolves or fails, in any
order; :class:`FakeConsumer` serves in-memory partitions through ``getmany`` and records every
``commit``, ``seek`` and pause; :class:`FakeBulkEndpoint` answers ``bulk(body)`` item by item with the
statuses a test scripts for each document id. Nothing here talks to a network.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import TopicPartition

from logfleet.core.errors import ElasticsearchUnreachable


@dataclasses.dataclass
class Sent:
    """One record a :class:`FakeProducer` was asked to send, and its future."""

    topic: str
    value: bytes
    key: bytes | None
    future: asyncio.Future[Any]


class FakeProducer:
    """``send`` returns a future that stays pending until the test calls :meth:`ack` or :meth:`fail`."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def send(self, topic: str, value: bytes, key: bytes | None = None) -> asyncio.Future[Any]:
        """Record the send; the returned future is the broker's acknowledgement to come."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append(Sent(topic, value, key, future))
        return future

    def ack(self, index: int) -> None:
        """Acknowledge the ``index``-th record sent."""
        self.sent[index].future.set_result(index)

    def fail(self, index: int, error: BaseException) -> None:
        """Fail the ``index``-th record sent with ``error``."""
        self.sent[index].future.set_exception(error)


@dataclasses.dataclass(frozen=True)
class Record:
    """A consumer record with the attributes logfleet reads."""

    topic: str
    partition: int
    offset: int
    value: bytes
    key: bytes | None = None


class FakeConsumer:
    """A group member that holds every partition of ``partitions`` (topic -> list of values)."""

    def __init__(self, partitions: dict[TopicPartition, list[bytes]]) -> None:
        self.logs = {tp: [Record(tp.topic, tp.partition, n, v) for n, v in enumerate(values)]
                     for tp, values in partitions.items()}
        self.positions = dict.fromkeys(self.logs, 0)
        self.committed_offsets: dict[TopicPartition, int] = {}
        self.commits: list[dict[TopicPartition, int]] = []
        self.paused: set[TopicPartition] = set()
        self.seeks: list[tuple[TopicPartition, int]] = []
        self.on_getmany: Callable[[], None] | None = None  # called before each read (to stop a loop, say)

    def assignment(self) -> set[TopicPartition]:
        """Every partition: this member holds them all."""
        return set(self.logs)

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Record]]:
        """The next records of the unpaused partitions, up to ``max_records`` in all."""
        if self.on_getmany is not None:
            self.on_getmany()
        await asyncio.sleep(0)
        left = max_records if max_records is not None else 1 << 30
        out: dict[TopicPartition, list[Record]] = {}
        for tp in sorted(self.logs, key=lambda t: (t.topic, t.partition)):
            if tp in self.paused or left <= 0:
                continue
            batch = self.logs[tp][self.positions[tp]:self.positions[tp] + left]
            if batch:
                out[tp] = batch
                self.positions[tp] += len(batch)
                left -= len(batch)
        if not out and timeout_ms:
            await asyncio.sleep(min(timeout_ms, 20) / 1000)
        return out

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Record a commit (offsets of the next record to read)."""
        self.commits.append(dict(offsets))
        self.committed_offsets.update(offsets)

    async def committed(self, tp: TopicPartition) -> int | None:
        """The last committed offset of ``tp``, or None."""
        return self.committed_offsets.get(tp)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        """Read ``tp`` from ``offset`` next."""
        self.seeks.append((tp, offset))
        self.positions[tp] = offset

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        """Read the partitions from their first record next."""
        for tp in partitions:
            self.seek(tp, 0)

    def pause(self, *partitions: TopicPartition) -> None:
        """Stop serving the partitions until :meth:`resume`."""
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        """Serve the partitions again."""
        self.paused.difference_update(partitions)


class FakeBulkEndpoint:
    """``bulk(body)`` answers each item with the next status scripted for its document ``_id``
    (201 once the script is used up), and remembers every request and document it stored."""

    def __init__(self, script: dict[str, list[int]] | None = None) -> None:
        self.script = {key: list(statuses) for key, statuses in (script or {}).items()}
        self.requests: list[list[tuple[dict[str, Any], dict[str, Any]]]] = []
        self.stored: dict[str, dict[str, Any]] = {}
        self.unreachable_for = 0  # the next N requests raise this error instead of answering
        self.unreachable_error: Exception = ElasticsearchUnreachable("fake endpoint unreachable")

    async def bulk(self, body: bytes) -> dict[str, Any]:
        """One ``_bulk`` request: action and document line pairs in, per-item results out."""
        await asyncio.sleep(0)
        if self.unreachable_for > 0:
            self.unreachable_for -= 1
            raise self.unreachable_error
        lines = [line for line in body.split(b"\n") if line]
        pairs = [(orjson.loads(a), orjson.loads(d)) for a, d in zip(lines[0::2], lines[1::2], strict=True)]
        self.requests.append(pairs)
        items = []
        for action, doc in pairs:
            op, meta = next(iter(action.items()))
            doc_id = str(meta.get("_id", ""))
            statuses = self.script.get(doc_id) or []
            status = statuses.pop(0) if statuses else (409 if doc_id in self.stored else 201)
            if status < 300:
                self.stored[doc_id] = doc
            result: dict[str, Any] = {"_index": meta.get("_index"), "_id": doc_id, "status": status}
            if status >= 300:
                result["error"] = {"type": f"status_{status}", "reason": f"scripted {status}"}
            items.append({op: result})
        return {"errors": any(next(iter(i.values()))["status"] >= 300 for i in items), "items": items}
