"""Apache Kafka for the development stack: KRaft nodes run from Kafka's own jars on Maven Central.

The pinned version lives in the small Maven project ``stack/kafka/pom.xml``; :func:`resolve` copies its
runtime dependencies once into a cache folder named after the pom's hash (``~/.cache/logfleet``), so a
changed pin resolves anew and an unchanged one never asks Maven again. A cluster is either one
combined node (broker and controller in one JVM: the cheap default) or, for fault tests, one
dedicated controller plus N brokers: killing or stopping brokers then never takes the metadata
quorum with it, which is the shape KRaft recommends for production and the one whose failures the
tests mean to show. Each node keeps its own folder (``server.properties``, ``node.json``, data and
log); storage is formatted on first start, users for SASL/SCRAM are created at format time, and a
stopped node starts again from its folder with its data.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import orjson

from logfleet.core.errors import StackError
from logfleet.devstack import processes
from logfleet.devstack.ports import answers

MAVEN_PROJECT = Path(__file__).resolve().parents[2] / "stack" / "kafka"
CONTROLLER_ID = 100  # the dedicated controller's node id; brokers are 1..N
BROKER_HEAP = ("-Xms128m", "-Xmx512m")
CONTROLLER_HEAP = ("-Xms64m", "-Xmx192m")
JVM_OPTIONS = ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
               "-XX:+ExplicitGCInvokesConcurrent", "-Djava.awt.headless=true")
START_TIMEOUT_S = 60.0
STARTED = "Kafka Server started"  # what a node logs once it serves


@dataclasses.dataclass(frozen=True)
class Listener:
    """One client listener of a broker: its name, security protocol and port on 127.0.0.1."""

    name: str
    protocol: str
    port: int


@dataclasses.dataclass(frozen=True)
class Node:
    """One KRaft node: its id, roles, folder and ports (``port`` is the PLAINTEXT client port of a
    broker, ``controller_port`` the CONTROLLER listener of a controller)."""

    node_id: int
    roles: str
    folder: Path
    port: int | None = None
    controller_port: int | None = None
    listeners: tuple[Listener, ...] = ()

    @property
    def is_broker(self) -> bool:
        """Whether clients connect to this node."""
        return "broker" in self.roles

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT`` of the client listener, or of the controller listener."""
        return f"127.0.0.1:{self.port if self.is_broker else self.controller_port}"

    def to_json(self) -> dict[str, object]:
        """What ``node.json`` and the stack record keep of the node."""
        return {"node_id": self.node_id, "roles": self.roles, "folder": str(self.folder), "port": self.port,
                "controller_port": self.controller_port,
                "listeners": [dataclasses.asdict(listener) for listener in self.listeners]}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> Node:
        """The node a ``to_json`` dict describes."""
        listeners = raw.get("listeners") or []
        assert isinstance(listeners, list)
        return cls(int(str(raw["node_id"])), str(raw["roles"]), Path(str(raw["folder"])),
                   int(str(raw["port"])) if raw.get("port") else None,
                   int(str(raw["controller_port"])) if raw.get("controller_port") else None,
                   tuple(Listener(str(item["name"]), str(item["protocol"]), int(item["port"])) for item in listeners))


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/logfleet`` (default ``~/.cache/logfleet``): where resolved jars are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "logfleet"


def lib_dir() -> Path:
    """The folder the pinned Kafka jars are (or will be) resolved into."""
    digest = hashlib.sha256((MAVEN_PROJECT / "pom.xml").read_bytes()).hexdigest()[:12]
    return cache_root() / f"kafka-{digest}" / "lib"


def resolve() -> Path:
    """The folder of Kafka's jars, resolving them with Maven first when this pin never was."""
    lib = lib_dir()
    if (lib / ".complete").exists():
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("Maven (mvn) not found to resolve Kafka's jars: run scripts/install.sh "
                         "(or apt-get install maven default-jre-headless)")
    staging = lib.with_name(f"lib.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    done = subprocess.run([mvn, "-q", "-B", "-f", str(MAVEN_PROJECT / "pom.xml"), "dependency:copy-dependencies",
                           "-DincludeScope=runtime", f"-DoutputDirectory={staging}"],
                          capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-6:])
        raise StackError(f"resolving Kafka's jars with Maven failed (exit {done.returncode}): {tail}")
    (staging / ".complete").write_text("")
    shutil.rmtree(lib, ignore_errors=True)
    staging.replace(lib)
    return lib


def java() -> str:
    """The ``java`` to run Kafka with: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and os.access(Path(home) / "bin" / "java", os.X_OK):
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise StackError("java not found (Kafka 4 needs Java 17 or newer): run scripts/install.sh")
    return found


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def plan(folder: Path, ports: list[int], brokers: int = 1,
         listeners: tuple[Listener, ...] = ()) -> list[Node]:
    """The nodes of a cluster in ``folder``: one combined node for one broker, else a controller and
    ``brokers`` brokers. ``ports`` gives the client ports first, then the controller port."""
    if brokers < 1 or len(ports) < brokers + 1:
        raise StackError(f"a cluster of {brokers} broker(s) needs {brokers + 1} ports, got {len(ports)}")
    if brokers == 1:
        return [Node(1, "broker,controller", folder / "node-1", ports[0], ports[1], listeners)]
    nodes = [Node(CONTROLLER_ID, "controller", folder / "controller", None, ports[brokers])]
    nodes += [Node(i, "broker", folder / f"broker-{i}", ports[i - 1], None, listeners) for i in range(1, brokers + 1)]
    return nodes


def properties(node: Node, nodes: list[Node], extra: dict[str, str] | None = None) -> str:
    """``server.properties`` of ``node`` in the cluster ``nodes`` (tuned for a 2-core machine)."""
    brokers = sum(1 for n in nodes if n.is_broker)
    voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes if n.controller_port)
    protocols = {"CONTROLLER": "PLAINTEXT"}
    listen: list[str] = []
    advertised: list[str] = []
    if node.is_broker:
        protocols["PLAINTEXT"] = "PLAINTEXT"
        for listener in (Listener("PLAINTEXT", "PLAINTEXT", node.port or 0), *node.listeners):
            protocols[listener.name] = listener.protocol
            listen.append(f"{listener.name}://127.0.0.1:{listener.port}")
            advertised.append(f"{listener.name}://127.0.0.1:{listener.port}")
    if node.controller_port:
        listen.append(f"CONTROLLER://127.0.0.1:{node.controller_port}")
    config = {
        "process.roles": node.roles,
        "node.id": str(node.node_id),
        "controller.quorum.voters": voters,
        "controller.listener.names": "CONTROLLER",
        "listeners": ",".join(listen),
        "listener.security.protocol.map": ",".join(f"{k}:{v}" for k, v in protocols.items()),
        "log.dirs": str(node.folder / "data"),
        "num.network.threads": "2",
        "num.io.threads": "2",
        "num.recovery.threads.per.data.dir": "1",
        "background.threads": "4",
        "offsets.topic.num.partitions": "1",  # 50 by default: slow group start-up on 2 cores
        "offsets.topic.replication.factor": str(min(3, brokers)),
        "transaction.state.log.replication.factor": str(min(3, brokers)),
        "transaction.state.log.min.isr": str(min(2, brokers)),
        "share.coordinator.state.topic.replication.factor": str(min(3, brokers)),
        "share.coordinator.state.topic.min.isr": str(min(2, brokers)),
        "group.initial.rebalance.delay.ms": "0",
        "unclean.leader.election.enable": "false",
        "message.max.bytes": str(16 * 1024 * 1024),
    }
    if node.is_broker:
        config["advertised.listeners"] = ",".join(advertised)
        config["inter.broker.listener.name"] = "PLAINTEXT"
    config.update(extra or {})
    return "".join(f"{key}={value}\n" for key, value in config.items())


def write(node: Node, nodes: list[Node], extra: dict[str, str] | None = None) -> None:
    """Write the node's folder: ``server.properties`` and ``node.json``."""
    node.folder.mkdir(parents=True, exist_ok=True)
    (node.folder / "server.properties").write_text(properties(node, nodes, extra))
    (node.folder / "node.json").write_bytes(orjson.dumps(node.to_json()))


def read_node(folder: Path) -> Node:
    """The node whose folder is ``folder`` (written by :func:`write`)."""
    try:
        return Node.from_json(orjson.loads((folder / "node.json").read_bytes()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StackError(f"no Kafka node in {folder}: {exc}") from exc


def _log_config(name: str = "log4j2.properties") -> list[str]:
    return [f"-Dlog4j2.configurationFile={MAVEN_PROJECT}/{name}"]


def run_tool(main_class: str, args: list[str], what: str) -> str:
    """Run one of Kafka's command-line tools (``kafka.tools.StorageTool``,
    ``org.apache.kafka.tools.AclCommand``, ...) from the resolved jars; returns its output."""
    done = subprocess.run([java(), "-Xmx256m", "-cp", f"{resolve()}/*", *_log_config("tools-log4j2.properties"),
                           main_class, *args], capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-4:])
        raise StackError(f"{what} failed (exit {done.returncode}): {tail}")
    return done.stdout


def format_storage(node: Node, cluster_id: str, scram_users: dict[str, str] | None = None) -> None:
    """Format the node's storage once (a formatted folder is left as it is); SCRAM-SHA-512 users
    named in ``scram_users`` (name -> password) are created in the cluster's metadata."""
    if (node.folder / "data" / "meta.properties").exists():
        return
    args = ["format", "-t", cluster_id, "-c", str(node.folder / "server.properties")]
    for name, password in (scram_users or {}).items():
        args += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
    run_tool("kafka.tools.StorageTool", args, f"formatting Kafka node {node.node_id}")


def _launch(node: Node) -> tuple[subprocess.Popen[bytes], int]:
    """Spawn a formatted node detached (it outlives the caller); returns the process and how often
    its log already says it started (a restarted node appends to the log of its earlier runs)."""
    log = node.folder / "kafka.log"
    before = log.read_text(errors="replace").count(STARTED) if log.exists() else 0
    heap = BROKER_HEAP if node.is_broker else CONTROLLER_HEAP
    argv = [java(), *heap, *JVM_OPTIONS, "-cp", f"{resolve()}/*",
            *_log_config(), "kafka.Kafka", str(node.folder / "server.properties")]
    return processes.spawn_detached(argv, log), before


def _await(node: Node, proc: subprocess.Popen[bytes], before: int) -> None:
    """Wait until the node logged its start once more and answers on its port; a node that exits or
    does not come up within START_TIMEOUT_S is stopped, and StackError carries its log's tail."""
    log = node.folder / "kafka.log"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if log.read_text(errors="replace").count(STARTED) > before and answers(node.address):
            return
        time.sleep(0.1)
    if proc.poll() is None:
        processes.stop(proc.pid, node.folder)
        raise StackError(f"Kafka node {node.node_id} did not start within {START_TIMEOUT_S:.0f} s: "
                         f"{processes.log_tail(log)}")
    processes.forget(proc.pid)
    raise StackError(f"Kafka node {node.node_id} exited with code {proc.returncode}: {processes.log_tail(log)}")


def start(node: Node) -> int:
    """Start a formatted node and wait until it has started; returns its pid, raises
    :class:`StackError` with its log's tail when it does not come up."""
    proc, before = _launch(node)
    _await(node, proc, before)
    return proc.pid


def start_cluster(nodes: list[Node], extra: dict[str, str] | None = None,
                  scram_users: dict[str, str] | None = None) -> dict[int, int]:
    """Write, format (first time only) and start every node; returns node id -> pid. Nodes start
    together (a broker waits for its controller anyway), so a cluster is up in about one node's time."""
    cluster_id = new_cluster_id()
    for node in nodes:
        if not (node.folder / "data" / "meta.properties").exists():
            write(node, nodes, extra)
            format_storage(node, cluster_id, scram_users)
    launched = [(node, *_launch(node)) for node in nodes]
    try:
        for node, proc, before in launched:
            _await(node, proc, before)
    except StackError:
        for node, proc, _ in launched:
            stop(proc.pid, node)
        raise
    return {node.node_id: proc.pid for node, proc, _ in launched}


def is_running(pid: int | None, node: Node) -> bool:
    """Whether ``pid`` is still this node's JVM (not a reused pid)."""
    return bool(pid) and processes.is_ours(int(pid or 0), "java", node.folder)


def stop(pid: int, node: Node, grace: float = 20.0) -> None:
    """Stop a node (SIGTERM: a controlled shutdown hands its partitions over; SIGKILL after ``grace``)."""
    if is_running(pid, node):
        processes.stop(pid, node.folder, grace=grace)


def kill(pid: int, node: Node) -> None:
    """``kill -9`` a node, as a crash would."""
    if is_running(pid, node):
        processes.kill_group(pid, 9)
        while processes.is_alive(pid):
            time.sleep(0.02)
        processes.forget(pid)
