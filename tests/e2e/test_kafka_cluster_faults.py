"""Broker failures on a three-broker Apache Kafka cluster: every line a container wrote is stored in
Elasticsearch exactly once (issue 11).

The cluster is a dedicated KRaft controller and three brokers (``logfleet.devstack``), started once
for this module; topics get the production settings (replication factor 3, ``min.insync.replicas``
2). The whole pipeline runs in this process against it: a shipper following real containers, a
processor and an indexer. Each test counts the numbered lines the container wrote against the
documents in Elasticsearch:

- the broker leading the raw partition in use is ``kill -9``'d in the middle of a burst, then
  started again;
- two of the three brokers are stopped for 30 s: with only one in-sync replica left no write can be
  acknowledged, so the shipper's checkpoint must not move and its memory must stay bounded; when one
  broker returns everything arrives;
- all three brokers are restarted one after the other (each waits until its partitions are back in
  sync, as an operator's rolling restart does) while lines flow; while one is down, the topic
  health that ``logfleet status`` shows counts every partition as under-replicated.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from indexer.daemon import Indexer
from logfleet.clients import kafka
from logfleet.core.config import Settings
from logfleet.devstack import kafka_node
from logfleet.devstack.bench.procstat import rss_mb
from logfleet.devstack.ports import free_port
from logfleet.ops import status
from processor.daemon import Processor
from shipper.daemon import Shipper
from tests.support import (
    docs_reach,
    drop_namespace,
    isolated,
    prepare,
    running,
    start_container,
    stored_docs,
    wait_for,
)

pytestmark = [pytest.mark.servers]


@dataclasses.dataclass
class Cluster:
    """The module's Kafka cluster: its nodes and the pid each runs as now."""

    nodes: list[kafka_node.Node]
    pids: dict[int, int]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.address for node in self.nodes if node.is_broker)

    def broker(self, node_id: int) -> kafka_node.Node:
        return next(node for node in self.nodes if node.node_id == node_id)

    def kill(self, node_id: int) -> None:
        kafka_node.kill(self.pids[node_id], self.broker(node_id))

    def stop(self, node_id: int) -> None:
        kafka_node.stop(self.pids[node_id], self.broker(node_id))

    def start(self, node_id: int) -> None:
        self.pids[node_id] = kafka_node.start(self.broker(node_id))

    def ensure_all_running(self) -> None:
        for node in self.nodes:
            if not kafka_node.is_running(self.pids.get(node.node_id), node):
                self.pids[node.node_id] = kafka_node.start(node)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    folder = Path(tempfile.mkdtemp(prefix="lfk", dir="/tmp"))
    nodes = kafka_node.plan(folder, [free_port() for _ in range(4)], brokers=3)
    made = Cluster(nodes, kafka_node.start_cluster(nodes))
    try:
        yield made
    finally:
        for node in nodes:
            pid = made.pids.get(node.node_id)
            if pid:
                kafka_node.stop(pid, node, grace=5)


@pytest.fixture
async def cluster_settings(stack: Settings, cluster: Cluster, tmp_path: Path) -> AsyncIterator[Settings]:
    """The test's own topics on the cluster (replication 3, min.insync.replicas 2), with the stack's
    Docker and Elasticsearch."""
    cluster.ensure_all_running()
    settings = dataclasses.replace(isolated(stack, tmp_path), kafka_bootstrap=cluster.bootstrap)
    assert (settings.topic_replication_factor, settings.topic_min_insync_replicas) == (3, 2)
    await prepare(settings)
    yield settings
    await drop_namespace(settings)


def burst(lines: int, chunk: int, pause_s: float) -> str:
    """A script writing ``line N`` for N in 1..lines, ``chunk`` lines at a time, ``pause_s`` apart."""
    return (f"i=1; while [ $i -le {lines} ]; do seq $i $((i+{chunk}-1)) | sed 's/^/line /'; "
            f"i=$((i+{chunk})); sleep {pause_s}; done")


async def assert_every_line_once(settings: Settings, lines: int, within: float) -> None:
    """Wait until Elasticsearch holds ``lines`` documents (a cheap count), then read them all once and
    check each line number is there once."""
    counted = await wait_for(lambda: docs_reach(settings, lines), within=within, interval=2)
    assert counted, f"fewer than {lines} documents after {within:.0f} s"
    found = collections.Counter(int(str(doc["message"]).split()[1]) for doc in await stored_docs(settings))
    assert set(found) == set(range(1, lines + 1)), f"lost {lines - len(set(found))} lines"
    assert [n for n, seen in found.items() if seen > 1] == [], "lines stored twice"
    assert sum(found.values()) == lines


async def raw_partition_leaders(settings: Settings) -> dict[int, int]:
    """partition -> leader of the raw topic's partitions that hold records."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async with kafka.admin(settings) as client:
        described = await client.describe_topics([settings.topic_raw])
    leaders = {p["partition"]: p["leader"] for p in described[0]["partitions"]}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(settings.topic_raw, p) for p in leaders])
    finally:
        await consumer.stop()
    return {tp.partition: leaders[tp.partition] for tp, end in ends.items() if end > 0}


async def in_sync(settings: Settings) -> bool:
    """Whether every partition of the test's topics has all its replicas in sync and a leader."""
    async with kafka.admin(settings) as client:
        states = await kafka.describe(client, kafka.pipeline_topics(settings))
    return len(states) == 3 and all(not s.under_replicated and not s.offline for s in states.values())


@pytest.mark.timeout(420)
async def test_the_leading_broker_killed_mid_burst_loses_and_duplicates_nothing(
    cluster_settings: Settings, cluster: Cluster
) -> None:
    settings = cluster_settings
    lines = 100_000
    async with running(Shipper(settings), Processor(settings), Indexer(settings)):
        container = start_container(settings, burst(lines, 5000, 0.5))  # about 10 s of writing
        leaders = await wait_for(lambda: raw_partition_leaders(settings), within=30, interval=0.2)
        assert leaders, "no raw record within 30 s"
        victim = collections.Counter(leaders.values()).most_common(1)[0][0]
        await asyncio.to_thread(cluster.kill, victim)
        await asyncio.sleep(10)
        await asyncio.to_thread(cluster.start, victim)
        await asyncio.to_thread(container.wait, timeout=120)
        await assert_every_line_once(settings, lines, within=300)
    print(f"\nkill -9 of broker {victim} (leader of raw partitions {sorted(leaders)}): {lines} lines once each")


@pytest.mark.timeout(420)
async def test_two_of_three_brokers_stopped_acknowledge_nothing_and_lose_nothing(
    cluster_settings: Settings, cluster: Cluster
) -> None:
    settings = cluster_settings
    lines = 30_000
    checkpoints = Path(settings.state_dir) / "shipper-checkpoints.json"
    async with running(Shipper(settings), Processor(settings), Indexer(settings)):
        container = start_container(settings, burst(lines, 500, 0.5))  # about 30 s of writing
        assert await wait_for(lambda: raw_partition_leaders(settings), within=30, interval=0.2)
        baseline = rss_mb(os.getpid())
        await asyncio.gather(asyncio.to_thread(cluster.stop, 2), asyncio.to_thread(cluster.stop, 3))
        await asyncio.sleep(5)  # what was in flight when the brokers stopped settles
        before = checkpoints.read_bytes()
        peak = baseline
        for _ in range(25):
            await asyncio.sleep(1)
            peak = max(peak, rss_mb(os.getpid()))
        during = checkpoints.read_bytes()
        await asyncio.to_thread(cluster.start, 2)
        await asyncio.to_thread(container.wait, timeout=120)
        await assert_every_line_once(settings, lines, within=300)
    assert during == before, "the shipper checkpointed lines that only one replica held"
    assert peak - baseline < 150, f"memory grew by {peak - baseline:.0f} MB during the outage"
    print(f"\ntwo brokers stopped 30 s: checkpoint unchanged, RSS +{peak - baseline:.1f} MB, {lines} lines once each")


@pytest.mark.timeout(420)
async def test_a_rolling_restart_of_all_brokers_loses_and_duplicates_nothing(
    cluster_settings: Settings, cluster: Cluster
) -> None:
    settings = cluster_settings
    lines = 30_000
    async with running(Shipper(settings), Processor(settings), Indexer(settings)):
        container = start_container(settings, burst(lines, 500, 0.5))
        assert await wait_for(lambda: raw_partition_leaders(settings), within=30, interval=0.2)
        everything = 3 * settings.topic_partitions  # every partition has a replica on every broker

        async def all_under_replicated() -> dict[str, Any]:
            health = await status.topic_health(settings)  # what `logfleet status` shows meanwhile
            return health if health["under_replicated"] == everything else {}

        for node_id in (1, 2, 3):
            await asyncio.to_thread(cluster.stop, node_id)
            health = await wait_for(all_under_replicated, within=30, interval=0.5)
            assert health and health["offline"] == 0, await status.topic_health(settings)
            await asyncio.to_thread(cluster.start, node_id)
            assert await wait_for(lambda: in_sync(settings), within=60, interval=0.5), f"broker {node_id} not in sync"
        await asyncio.to_thread(container.wait, timeout=120)
        await assert_every_line_once(settings, lines, within=300)
    print(f"\nrolling restart of 3 brokers: {lines} lines once each")
