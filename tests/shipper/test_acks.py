"""The shipper's acknowledgement ledger without any server: the checkpoint moves only over the
acknowledged prefix of what was sent, stops for good at a failure, and in-flight records are bounded
(logfleet.testing.FakeProducer resolves each record's future when the test says so)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from logfleet.core.errors import DeliveryError
from logfleet.testing import FakeProducer
from shipper.acks import AckLedger, ShipperStats
from shipper.checkpoints import CheckpointStore

CID = "c" * 64


async def send(producer: FakeProducer, ledger: AckLedger, position: tuple[int, int], lines: int = 10) -> None:
    await ledger.wait_for_room()
    ledger.add(await producer.send("raw", b"x", CID.encode()), position, lines)


async def test_the_checkpoint_moves_only_over_the_acknowledged_prefix(tmp_path: Path) -> None:
    store, producer, stats = CheckpointStore(tmp_path / "cp.json"), FakeProducer(), ShipperStats()
    ledger = AckLedger(CID, store, stats)
    for n in range(3):
        await send(producer, ledger, (1000 + n, 0))
    producer.ack(2)
    await asyncio.sleep(0)
    assert store.position(CID) is None  # the third is acknowledged, but not the first two
    producer.ack(0)
    await asyncio.sleep(0)
    assert store.position(CID) == (1000, 0)
    producer.ack(1)
    await asyncio.sleep(0)
    assert store.position(CID) == (1002, 0)  # the second closes the gap: both advance at once
    await ledger.drain()
    assert (stats.lines_acked, stats.in_flight, len(ledger)) == (30, 0, 0)


async def test_a_failed_record_stops_the_checkpoint_for_good(tmp_path: Path) -> None:
    store, producer, stats = CheckpointStore(tmp_path / "cp.json"), FakeProducer(), ShipperStats()
    ledger = AckLedger(CID, store, stats)
    for n in range(4):
        await send(producer, ledger, (2000 + n, 0))
    producer.ack(0)
    producer.fail(1, RuntimeError("NotEnoughReplicas"))
    producer.ack(2)
    producer.ack(3)
    await asyncio.sleep(0)
    assert store.position(CID) == (2000, 0)  # what came after the failure must be sent again
    with pytest.raises(DeliveryError, match="NotEnoughReplicas"):
        await ledger.drain()
    with pytest.raises(DeliveryError):
        await send(producer, ledger, (2010, 0))
    assert (stats.send_errors, stats.lines_acked, stats.in_flight) == (1, 10, 0)


async def test_no_more_than_the_limit_is_in_flight(tmp_path: Path) -> None:
    store, producer = CheckpointStore(tmp_path / "cp.json"), FakeProducer()
    ledger = AckLedger(CID, store, ShipperStats(), limit=2)
    await send(producer, ledger, (1, 0))
    await send(producer, ledger, (2, 0))
    third = asyncio.create_task(send(producer, ledger, (3, 0)))
    await asyncio.sleep(0.01)
    assert not third.done() and len(producer.sent) == 2  # reading waits while Kafka is behind
    producer.ack(0)
    await asyncio.wait_for(third, 1)
    assert len(producer.sent) == 3
