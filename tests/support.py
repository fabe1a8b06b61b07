"""Helpers for tests that run the real pipeline against the local stack."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import docker

from logfleet.clients import search
from logfleet.core.config import Settings
from logfleet.core.errors import SearchRequestError
from logfleet.devstack.busybox_image import IMAGE
from logfleet.ops import provision


@dataclasses.dataclass
class SearchServer:
    """A search engine the tests point ``es_url`` at (``name``: ``elasticsearch-standin`` or ``opensearch``);
    ``stop``/``start`` take it down and bring it back with its data, for outage tests."""

    name: str
    url: str
    stop: Callable[[], None]
    start: Callable[[], None]


def isolated(settings: Settings, tmp_path: Path) -> Settings:
    """Settings with their own topics, consumer groups, namespace and state dir, for one test."""
    tag = uuid.uuid4().hex[:8]
    return dataclasses.replace(
        settings,
        topic_raw=f"raw-{tag}",
        topic_events=f"events-{tag}",
        topic_dlq=f"dlq-{tag}",
        topic_partitions=3,
        processor_group=f"proc-{tag}",
        indexer_group=f"idx-{tag}",
        namespace=f"t{tag}",
        state_dir=str(tmp_path / "state"),
        bulk_interval_s=0.3,
        include=f"label:logfleet.test={tag}",
    )


async def prepare(settings: Settings) -> None:
    """Create the test's topics and the templates."""
    await provision.setup_kafka(settings)
    await provision.setup_elasticsearch(settings)


async def drop_namespace(settings: Settings) -> None:
    """Delete a test's data streams: the stand-in server slows down as its stored data grows."""
    async with search.connect(settings) as engine:
        await engine.drop_streams(f"logs-*-{settings.namespace}")


def docker_client(settings: Settings) -> Any:
    """A blocking docker SDK client for the stack's engine (for starting test containers)."""
    return docker.DockerClient(base_url=settings.docker_host)


def start_container(settings: Settings, script: str, name: str | None = None, **kwargs: Any) -> Any:
    """Start a busybox container running ``sh -c script``; returns the SDK container."""
    client = docker_client(settings)
    labels = dict(kwargs.pop("labels", {}))
    key, _, value = settings.include.removeprefix("label:").partition("=")
    if key:
        labels.setdefault(key, value)  # so the test's own shipper follows it (and no other test's)
    return client.containers.run(
        IMAGE,
        ["sh", "-c", script],
        name=name or f"t-{uuid.uuid4().hex[:10]}",
        detach=True,
        init=True,
        labels=labels,
        **kwargs,
    )


@contextlib.asynccontextmanager
async def running(*daemons: Any) -> AsyncIterator[list[asyncio.Task[None]]]:
    """Run daemons as tasks for the block; stop them gracefully after it and re-raise their errors."""
    tasks = [asyncio.create_task(d.run()) for d in daemons]
    try:
        yield tasks
    finally:
        for daemon in daemons:
            daemon.stop()
        done, pending = await asyncio.wait(tasks, timeout=30)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]


async def count_docs(settings: Settings, container_name: str = "") -> int:
    """Documents of a container (or all) in the namespace's log streams."""
    query = {"term": {"container.name": container_name}} if container_name else {"match_all": {}}
    async with search.connect(settings) as engine:
        try:
            return await engine.count(f"logs-*-{settings.namespace}", query)
        except SearchRequestError as exc:
            # a real engine answers 503 (all shards failed) while a data stream's first index is created
            if exc.status != 503:
                raise
            return 0


async def docs_reach(settings: Settings, want: int, container_name: str = "") -> int:
    """The namespace's document count (of one container, or all) once it reached ``want``, else 0
    (a predicate for :func:`wait_for`)."""
    count = await count_docs(settings, container_name)
    return count if count >= want else 0


async def raw_lines(settings: Settings, container_id: str) -> list[list[Any]]:
    """Every line of one container in the raw topic, in the order of its records."""
    from logfleet.core.model import decode_raw

    out: list[list[Any]] = []
    for record in await read_topic(settings, settings.topic_raw):
        raw = decode_raw(record.value)
        if raw["container"]["id"] == container_id:
            out.extend(raw["lines"])
    return out


async def raw_line_numbers(settings: Settings) -> Any:
    """How often each line number arrived in the raw topic, for lines written as ``line N ...``."""
    import collections

    from logfleet.core.model import decode_raw

    numbers: collections.Counter[int] = collections.Counter()
    for record in await read_topic(settings, settings.topic_raw):
        for line in decode_raw(record.value)["lines"]:
            numbers[int(line[3].split()[1])] += 1
    return numbers


async def wait_for(predicate: Callable[[], Any], within: float, interval: float = 0.5) -> Any:
    """Await ``predicate()`` until it returns something truthy; returns it, or the last value after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = await predicate()
        if value or loop.time() > deadline:
            return value
        await asyncio.sleep(interval)


def cli_env(settings: Settings) -> dict[str, str]:
    """Environment that points the ``logfleet`` CLI at these settings."""
    env = dict(os.environ)
    env.update(
        DOCKER_HOST=settings.docker_host,
        LOGFLEET_KAFKA_BOOTSTRAP=settings.kafka_bootstrap,
        LOGFLEET_ES_URL=settings.es_url,
        LOGFLEET_NAMESPACE=settings.namespace,
        LOGFLEET_STATE_DIR=settings.state_dir,
        LOGFLEET_TOPIC_RAW=settings.topic_raw,
        LOGFLEET_TOPIC_EVENTS=settings.topic_events,
        LOGFLEET_TOPIC_DLQ=settings.topic_dlq,
        LOGFLEET_PROCESSOR_GROUP=settings.processor_group,
        LOGFLEET_INDEXER_GROUP=settings.indexer_group,
        LOGFLEET_STACK_DIR="/nonexistent-stack",
        LOGFLEET_INCLUDE=settings.include,
        LOGFLEET_CHECKPOINT_INTERVAL_S=str(settings.checkpoint_interval_s),
        LOGFLEET_METRICS_PORT="0",
    )
    return env


def bare_env(**extra: str) -> dict[str, str]:
    """This process's environment without logfleet settings, DOCKER_HOST or a stack record, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGFLEET_") and k != "DOCKER_HOST"}
    env["LOGFLEET_STACK_DIR"] = "/nonexistent-stack"
    env.update(extra)
    return env


def bare_cli(*args: str, timeout: float = 90, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the ``logfleet`` entry point with built-in defaults and only the settings in ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "logfleet", *args], env=bare_env(**env), capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def logfleet_cli(settings: Settings, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real ``logfleet`` console entry point in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "logfleet", *args],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def read_topic(settings: Settings, topic: str) -> list[Any]:
    """Every record of a topic, from the beginning to its current end (no consumer group)."""
    from logfleet.clients.kafka import read_all

    return await read_all(settings, topic)


def spawn_cli(settings: Settings, *args: str, log_path: Path, **env: str) -> subprocess.Popen[bytes]:
    """Start ``logfleet ARGS`` as a separate process (to kill it), its output going to ``log_path``."""
    return subprocess.Popen(
        [sys.executable, "-m", "logfleet", *args],
        env={**cli_env(settings), **env},
        stdout=open(log_path, "ab"),
        stderr=subprocess.STDOUT,
    )


def kafka_service(action: str) -> None:
    """Stop (``stop``) or start again (``start``) the session stack's Kafka; its data is kept."""
    from logfleet.devstack import stack

    stack_dir = Path(os.environ["LOGFLEET_TEST_STACK_DIR"])
    if action == "stop":
        stack.stop_kafka(stack_dir)
    else:
        stack.up(stack_dir)


def noida_service(action: str, service: str) -> None:
    """Stop or start one service (``elasticsearch``) of the session's noida-db server; its data is
    kept, as when a real server is stopped and started."""
    from logfleet.devstack.search_stack import find_noida

    stack_dir = Path(os.environ["LOGFLEET_TEST_STACK_DIR"])
    subprocess.run(
        [find_noida(), action, service, "--data-dir", str(stack_dir / "noida")],
        check=True,
        capture_output=True,
        timeout=60,
    )


async def produce_events(settings: Settings, count: int, container: str, per_record: int = 500) -> None:
    """Put ``count`` events of one made-up container on the events topic, in the processor's format
    (``_bulk`` action and document lines, many events to a record)."""
    import orjson
    from aiokafka import AIOKafkaProducer

    from logfleet.core.model import event_id, format_ts

    index = f"logs-{container.replace('-', '_')}-{settings.namespace}"
    cid = container * 4
    base = 1_790_000_000 * 10**9
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", max_request_size=16 << 20)
    await producer.start()
    try:
        futures = []
        for first in range(0, count, per_record):
            body = []
            for i in range(first, min(count, first + per_record)):
                eid = event_id(cid, base + i * 1000, "stdout", 0)
                body.append(orjson.dumps({"create": {"_index": index, "_id": eid}}))
                doc = {
                    "@timestamp": format_ts(base + i * 1000),
                    "message": f"event {i} of {container}",
                    "container": {"id": cid, "name": container},
                    "event": {"id": eid, "sequence": 0},
                }
                body.append(orjson.dumps(doc))
            value = b"\n".join(body) + b"\n"
            futures.append(await producer.send(settings.topic_events, value, key=container.encode()))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def restart_private_dockerd() -> bool:
    """Stop the session's private dockerd (SIGTERM, as a daemon restart would) and start it again on
    the same socket; False when the session uses a Docker Engine it did not start."""
    import signal as signals
    import time

    from logfleet.devstack.stack import read_record, up

    stack_dir = Path(os.environ["LOGFLEET_TEST_STACK_DIR"])
    record = read_record(stack_dir)
    pid = record.started.get("dockerd") if record else None
    if not pid:
        return False
    os.kill(pid, signals.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.1)
    up(stack_dir)
    return True


async def stored_docs(settings: Settings) -> list[dict[str, Any]]:
    """Every document of the namespace's log streams (``_source``), exported through a point in time
    (no 10,000-hit window): for checks that count each line, not just the documents."""
    from logfleet.ops.audit.export import records
    from logfleet.ops.audit.search import Filters

    docs: list[dict[str, Any]] = []
    async with search.connect(settings) as engine:
        async for page in records(engine, Filters(namespace=settings.namespace)):
            docs.extend(page)
    return docs
