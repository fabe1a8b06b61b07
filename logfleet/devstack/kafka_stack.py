"""The Kafka part of the local stack: start, reuse, stop and report the cluster recorded in a stack folder.

``logfleet stack up`` keeps its Kafka under ``<stack_dir>/kafka``: one combined node by default, or a
controller and N brokers (``--kafka-brokers N``). The stack record lists every node with its pid; a
node counts as running only while that pid is still a ``java`` process started from the node's folder
(see :func:`logfleet.devstack.kafka_node.is_running`), so a reused pid is never stopped by mistake.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from logfleet.core.errors import StackError
from logfleet.devstack import kafka_node
from logfleet.devstack.ports import answers, free_ports


@dataclasses.dataclass
class KafkaCluster:
    """The recorded cluster: its nodes and the pid of each (None when not started by ``up``)."""

    nodes: list[kafka_node.Node]
    pids: dict[int, int | None]

    @property
    def bootstrap(self) -> str:
        """Every broker's address, comma separated (the ``kafka_bootstrap`` setting)."""
        return ",".join(node.address for node in self.nodes if node.is_broker)

    @property
    def brokers(self) -> int:
        """How many brokers the cluster has."""
        return sum(1 for node in self.nodes if node.is_broker)

    def to_json(self) -> list[dict[str, Any]]:
        """The record's ``kafka`` list: each node with its pid."""
        return [{**node.to_json(), "pid": self.pids.get(node.node_id)} for node in self.nodes]

    @classmethod
    def from_json(cls, raw: Any) -> KafkaCluster | None:
        """The cluster a record's ``kafka`` list describes, or None when there is none."""
        if not isinstance(raw, list) or not raw:
            return None
        nodes = [kafka_node.Node.from_json(item) for item in raw]
        pids = {node.node_id: (int(item["pid"]) if item.get("pid") else None)
                for node, item in zip(nodes, raw, strict=True)}
        return cls(nodes, pids)

    def running(self) -> dict[int, int]:
        """node id -> pid of the nodes whose recorded pid still runs that node."""
        return {node.node_id: pid for node in self.nodes
                if (pid := self.pids.get(node.node_id)) and kafka_node.is_running(pid, node)}


def up(folder: Path, old: KafkaCluster | None, brokers: int, port: int | None) -> tuple[KafkaCluster, str]:
    """Reuse the recorded cluster when all of it runs, else start it (formatting new storage the
    first time); returns the cluster and one line saying what happened."""
    if old is not None and old.brokers != brokers:
        raise StackError(f"the stack's Kafka has {old.brokers} broker(s), {brokers} asked: run "
                         "`logfleet stack down --purge` first, or use another --stack-dir")
    if old is not None:
        running = old.running()
        if len(running) == len(old.nodes):
            return old, f"Kafka {old.bootstrap} (pids {', '.join(map(str, running.values()))})"
        for node in old.nodes:  # some of it is down: stop the rest and start all of it again
            if node.node_id in running:
                kafka_node.stop(running[node.node_id], node)
        nodes = old.nodes
    else:
        shutil.rmtree(folder, ignore_errors=True)  # a folder without a record is a failed start's
        nodes = kafka_node.plan(folder, free_ports(brokers + 1, port), brokers)
    pids = kafka_node.start_cluster(nodes)
    cluster = KafkaCluster(nodes, dict(pids))
    shape = "1 combined node" if brokers == 1 else f"controller + {brokers} brokers"
    return cluster, (f"Apache Kafka ({shape}) at {cluster.bootstrap} "
                     f"(pids {', '.join(str(pids[n.node_id]) for n in nodes)})")


def down(cluster: KafkaCluster) -> list[str]:
    """Stop every node of the cluster that still runs (brokers first); returns what stopped."""
    stopped: list[str] = []
    running = cluster.running()
    for node in sorted(cluster.nodes, key=lambda n: not n.is_broker):
        if node.node_id in running:
            kafka_node.stop(running[node.node_id], node)
            stopped.append(f"kafka node {node.node_id} (pid {running[node.node_id]})")
        cluster.pids[node.node_id] = None
    return stopped


def status(cluster: KafkaCluster | None, bootstrap: str) -> dict[str, Any]:
    """What ``stack status`` shows of Kafka: the address, whether it answers, and every node."""
    running = cluster.running() if cluster else {}
    nodes = [{"node_id": node.node_id, "roles": node.roles, "address": node.address,
              "pid": running.get(node.node_id), "answers": answers(node.address)}
             for node in (cluster.nodes if cluster else [])]
    first = bootstrap.split(",")[0]
    return {"address": bootstrap, "answers": answers(first), "pid": next(iter(running.values()), None),
            "nodes": nodes}
