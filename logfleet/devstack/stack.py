"""The local default stack: a Docker Engine, Apache Kafka and Elasticsearch on this machine.

``up`` reuses a Docker Engine that already answers (``DOCKER_HOST``, then ``/var/run/docker.sock``) or
starts a private ``dockerd`` under ``<stack_dir>/docker``; makes sure the image ``local/busybox:1`` exists
(built from the host's static busybox, since no registry can be reached); starts Apache Kafka from its
own jars (:mod:`logfleet.devstack.kafka_stack`: one combined KRaft node, or a controller and N brokers);
and starts the search engine (:mod:`logfleet.devstack.search_stack`): ``noida-db`` as the
Elasticsearch stand-in (a real Elasticsearch cannot be had here), or a real OpenSearch.
Every process it starts runs detached (its own session), so it outlives the command that started it,
and its pid goes into ``<stack_dir>/stack.json``. ``down`` stops exactly those pids, and only while they
still are the program that was started there. The record's ``settings`` are read by
:func:`logfleet.core.config.read_stack_record`.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import fcntl
import os
import shlex
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from logfleet.core.config import Settings
from logfleet.core.errors import StackError
from logfleet.devstack import kafka_stack, processes, search_stack
from logfleet.devstack.busybox_image import IMAGE, ensure_image
from logfleet.devstack.kafka_stack import KafkaCluster
from logfleet.devstack.ports import free_ports

SYSTEM_DOCKER = "unix:///var/run/docker.sock"
DOCKERD = "/usr/sbin/dockerd"
DEFAULT_KAFKA_PORT = 9092
DEFAULT_ES_PORT = 9200
_SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes including the terminating NUL
_LONGEST_SOCKET = "exec/containerd/containerd.sock.ttrpc"  # the longest socket dockerd makes under D


@dataclasses.dataclass
class StackRecord:
    """What ``up`` found or started; ``started`` holds the pids ``down`` may stop."""

    stack_dir: Path
    docker_host: str
    kafka_bootstrap: str
    es_url: str
    state_dir: str
    docker_source: str = ""
    started: dict[str, int | None] = dataclasses.field(
        default_factory=lambda: {"dockerd": None, "noida": None, "opensearch": None})
    kafka: KafkaCluster | None = None
    started_now: list[str] = dataclasses.field(default_factory=list)
    reused: list[str] = dataclasses.field(default_factory=list)

    def settings(self) -> dict[str, str]:
        """The connection settings, keyed like :class:`logfleet.core.config.Settings` fields."""
        return {"docker_host": self.docker_host, "kafka_bootstrap": self.kafka_bootstrap,
                "es_url": self.es_url, "state_dir": self.state_dir}

    def to_json(self) -> dict[str, Any]:
        return {"settings": self.settings(), "started": dict(self.started),
                "docker": {"source": self.docker_source},
                "kafka": self.kafka.to_json() if self.kafka else []}


def docker_answers(host: str, timeout: float = 3.0) -> bool:
    """Whether a Docker Engine answers ``/_ping`` at ``host`` (``unix://...`` or ``tcp://...``)."""
    if host.startswith("unix://") and not os.path.exists(host[len("unix://"):]):
        return False
    import docker  # the SDK is slow to import; most commands never need it

    try:
        with contextlib.closing(docker.APIClient(base_url=host, timeout=timeout)) as client:
            return bool(client.ping())
    except Exception:
        return False


def read_record(stack_dir: Path) -> StackRecord | None:
    """The record ``up`` wrote in ``stack_dir``, or None when there is none."""
    try:
        raw = orjson.loads((stack_dir / "stack.json").read_bytes())
        settings = raw["settings"]
        started = {k: (int(v) if v else None) for k, v in raw.get("started", {}).items()}
        return StackRecord(stack_dir, str(settings["docker_host"]), str(settings["kafka_bootstrap"]),
                           str(settings["es_url"]), str(settings["state_dir"]),
                           str(raw.get("docker", {}).get("source", "")),
                           {key: started.get(key) for key in ("dockerd", "noida", "opensearch")},
                           KafkaCluster.from_json(raw.get("kafka")))
    except (OSError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _write_record(record: StackRecord) -> None:
    path = record.stack_dir / "stack.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(record.to_json(), option=orjson.OPT_INDENT_2))
    tmp.replace(path)


@contextlib.contextmanager
def _locked(stack_dir: Path) -> Iterator[None]:
    stack_dir.mkdir(parents=True, exist_ok=True)
    with open(stack_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _start_dockerd(stack_dir: Path) -> tuple[str, int, str]:
    d = stack_dir / "docker"
    host = f"unix://{d}/docker.sock"
    longest = max(len(f"{d}/docker.sock".encode()), len(f"{d}/{_LONGEST_SOCKET}".encode()))
    if longest > _SUN_PATH_MAX:
        raise StackError(f"stack dir {stack_dir} is too long for dockerd's Unix sockets "
                         f"({longest} > {_SUN_PATH_MAX} bytes); use a shorter --stack-dir")
    if not os.access(DOCKERD, os.X_OK):
        raise StackError(f"{DOCKERD} not found: apt-get install docker.io, or set DOCKER_HOST")
    if os.geteuid() != 0:
        raise StackError("no Docker Engine answers and starting a private dockerd needs root; "
                         "run as root or set DOCKER_HOST")
    log = stack_dir / "dockerd.log"
    for driver in ("overlay2", "vfs"):
        proc = processes.spawn_detached([DOCKERD, "--data-root", f"{d}/data", "--exec-root", f"{d}/exec",
                       "--pidfile", f"{d}/dockerd.pid", "-H", host, f"--storage-driver={driver}",
                       "--iptables=false", "--ip6tables=false", "--bridge=none",
                       "--exec-opt", "native.cgroupdriver=cgroupfs"], log)
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline and proc.poll() is None:
            if docker_answers(host, timeout=1.0):
                return host, proc.pid, driver
            time.sleep(0.1)
        if proc.poll() is None:
            processes.stop(proc.pid, d)
            raise StackError(f"dockerd did not answer on {host} within 20 s: {processes.log_tail(log)}")
        processes.forget(proc.pid)
    raise StackError(f"dockerd exited with overlay2 and with vfs: {processes.log_tail(log)}")


def _up_docker(rec: StackRecord, old: StackRecord, private_docker: bool) -> None:
    docker_dir = rec.stack_dir / "docker"
    dockerd = old.started.get("dockerd")
    if dockerd and processes.is_ours(dockerd, "dockerd", docker_dir) and docker_answers(old.docker_host):
        rec.docker_host, rec.docker_source, rec.started["dockerd"] = old.docker_host, "private", dockerd
        rec.reused.append(f"dockerd (pid {dockerd}) at {old.docker_host}")
        return
    if dockerd and processes.is_ours(dockerd, "dockerd", docker_dir):  # ours, but it does not answer
        processes.stop(dockerd, docker_dir)
    candidates = [] if private_docker else [
        (os.environ.get("DOCKER_HOST", ""), "DOCKER_HOST"), (SYSTEM_DOCKER, SYSTEM_DOCKER)]
    for host, source in candidates:
        if host and docker_answers(host):
            rec.docker_host, rec.docker_source = host, source
            rec.reused.append(f"Docker Engine at {host} (from {source})")
            return
    host, pid, driver = _start_dockerd(rec.stack_dir)
    rec.docker_host, rec.docker_source, rec.started["dockerd"] = host, "private", pid
    rec.started_now.append(f"dockerd (pid {pid}, {driver}) at {host}")


def up(stack_dir: Path, *, kafka_port: int | None = None, es_port: int | None = None,
       private_docker: bool = False, kafka_brokers: int = 1, search: str = "elasticsearch") -> StackRecord:
    """Start what is missing of the stack in ``stack_dir`` and record it; safe to run again.

    ``kafka_brokers`` 1 runs one combined KRaft node; more run a controller and that many brokers.
    ``search`` is ``elasticsearch`` (the noida-db stand-in) or ``opensearch`` (a real node); the
    other engine, if the stack ran it before, is stopped (its data is kept).
    """
    if search not in search_stack.ENGINES:
        raise StackError(f"unknown search engine {search!r}: use one of {', '.join(search_stack.ENGINES)}")
    stack_dir = Path(stack_dir).absolute()
    with _locked(stack_dir):
        old = read_record(stack_dir) or StackRecord(stack_dir, "", "", "", "")
        rec = StackRecord(stack_dir, "", "", "", str(stack_dir / "state"))
        Path(rec.state_dir).mkdir(exist_ok=True)
        rec.kafka = old.kafka
        _up_docker(rec, old, private_docker)
        _write_record(rec)  # from here on, `down` can stop what was started even if the rest fails
        if ensure_image(rec.docker_host):
            rec.started_now.append(f"image {IMAGE} (built from the host's busybox)")

        cluster, said = kafka_stack.up(stack_dir / "kafka", old.kafka, kafka_brokers,
                                         kafka_port or DEFAULT_KAFKA_PORT)
        (rec.reused if cluster is old.kafka else rec.started_now).append(said)
        rec.kafka, rec.kafka_bootstrap = cluster, cluster.bootstrap
        _write_record(rec)

        _up_search(rec, old, search, es_port)
        _write_record(rec)
        return rec


def _up_search(rec: StackRecord, old: StackRecord, engine: str, es_port: int | None) -> None:
    for other, key in search_stack.RECORD_KEYS.items():
        if other != engine and (said := search_stack.stop(other, old.started.get(key), rec.stack_dir)):
            rec.started_now.append(f"stopped {said}: this stack now runs {engine}")
    key = search_stack.RECORD_KEYS[engine]
    pid = old.started.get(key)
    if search_stack.is_running(engine, pid, rec.stack_dir) and search_stack.http_ok(old.es_url + "/"):
        rec.es_url, rec.started[key] = old.es_url, pid
        rec.reused.append(f"{engine} (pid {pid}) at {rec.es_url}")
        return
    search_stack.stop(engine, pid, rec.stack_dir)  # ours, but it does not answer
    port = free_ports(1, es_port or DEFAULT_ES_PORT)[0]  # Kafka's ports are bound by now: never picked
    rec.es_url = f"http://127.0.0.1:{port}"
    rec.started[key], said = search_stack.start(engine, rec.stack_dir, port)
    rec.started_now.append(said)


def _kill_containers(docker_host: str) -> None:
    """SIGKILL every running container of our private engine, so that dockerd stops at once."""
    import docker

    with contextlib.suppress(Exception), contextlib.closing(
            docker.APIClient(base_url=docker_host, timeout=10)) as api:
        for container in api.containers(quiet=True):
            with contextlib.suppress(docker.errors.DockerException):
                api.kill(container["Id"])


def _umount_under(path: Path) -> None:
    try:
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    except OSError:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for point in sorted(mounts, key=len, reverse=True):
        point = point.replace("\\040", " ")
        if point == str(path) or point.startswith(f"{path}/"):
            libc.umount2(point.encode(), 2)  # MNT_DETACH


def down(stack_dir: Path, *, purge: bool = False) -> list[str]:
    """Stop what ``up`` started in ``stack_dir`` (``purge``: delete its data too); returns what stopped."""
    stack_dir = Path(stack_dir).absolute()
    if not stack_dir.exists():
        return []
    stopped: list[str] = []
    with _locked(stack_dir):
        rec = read_record(stack_dir)
        if rec is not None:
            if rec.kafka is not None:
                stopped += kafka_stack.down(rec.kafka)
            for engine, key in search_stack.RECORD_KEYS.items():
                said = search_stack.stop(engine, rec.started.get(key), stack_dir)
                stopped += [said] if said else []
                rec.started[key] = None
            dockerd = rec.started.get("dockerd")
            if dockerd and processes.is_ours(dockerd, "dockerd", stack_dir / "docker"):
                _kill_containers(rec.docker_host)
                processes.stop(dockerd, stack_dir / "docker")
                stopped.append(f"dockerd (pid {dockerd})")
            rec.started["dockerd"] = None
            _write_record(rec)
        ours = {"docker", "noida", "kafka", "opensearch", "state", "stack.json", "stack.tmp", "dockerd.log",
                "noida.log", ".lock"}
        if purge and (rec is not None or {p.name for p in stack_dir.iterdir()} <= ours):
            for leftover in processes.pids_mentioning(stack_dir / "docker"):
                processes.kill_group(leftover, signal.SIGKILL)
            _umount_under(stack_dir)
            for name in ours:
                if (stack_dir / name).is_dir():
                    shutil.rmtree(stack_dir / name, ignore_errors=True)
                else:
                    (stack_dir / name).unlink(missing_ok=True)
    if purge:
        with contextlib.suppress(OSError):
            stack_dir.rmdir()
    return stopped


def stop_kafka(stack_dir: Path) -> list[str]:
    """Stop only the stack's Kafka (its data kept; ``up`` starts it again), as an outage would."""
    stack_dir = Path(stack_dir).absolute()
    with _locked(stack_dir):
        rec = read_record(stack_dir)
        if rec is None or rec.kafka is None:
            return []
        stopped = kafka_stack.down(rec.kafka)
        _write_record(rec)
    return stopped


def status(stack_dir: Path) -> dict[str, Any]:
    """Each component of the stack in ``stack_dir``, with its address and whether it answers."""
    stack_dir = Path(stack_dir).absolute()
    d = Settings()  # nothing recorded: show the addresses logfleet would use by default
    rec = read_record(stack_dir) or StackRecord(
        stack_dir, os.environ.get("DOCKER_HOST", d.docker_host), d.kafka_bootstrap, d.es_url, d.state_dir)
    dockerd = rec.started.get("dockerd")
    dockerd = dockerd if dockerd and processes.is_ours(dockerd, "dockerd", stack_dir / "docker") else None
    running = {engine: pid for engine, key in search_stack.RECORD_KEYS.items()
               if search_stack.is_running(engine, pid := rec.started.get(key), stack_dir)}
    engine, search_pid = next(iter(running.items()), (None, None))
    return {
        "stack_dir": str(stack_dir),
        "recorded": (stack_dir / "stack.json").exists(),
        "docker": {"address": rec.docker_host, "answers": docker_answers(rec.docker_host),
                   "source": rec.docker_source or None,
                   "pid": dockerd},
        "kafka": kafka_stack.status(rec.kafka, rec.kafka_bootstrap),
        "elasticsearch": {"address": rec.es_url, "answers": search_stack.http_ok(rec.es_url + "/"),
                          "pid": search_pid, "engine": engine},
        "state_dir": rec.state_dir,
    }


def env_lines(record: StackRecord) -> list[str]:
    """Shell ``export`` lines that point logfleet and the Docker CLI at this stack."""
    return [f"export {key}={shlex.quote(value)}" for key, value in (
        ("DOCKER_HOST", record.docker_host), ("LOGFLEET_KAFKA_BOOTSTRAP", record.kafka_bootstrap),
        ("LOGFLEET_ES_URL", record.es_url), ("LOGFLEET_STATE_DIR", record.state_dir))]
