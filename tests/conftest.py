"""Session fixtures shared by every test: the local stack (Docker, Apache Kafka, Elasticsearch).

Tests that need servers take the ``stack`` fixture (a :class:`logfleet.core.config.Settings` pointing at the
stack) and carry ``@pytest.mark.servers``. The stack is started once per session in a fresh short folder
under /tmp, with free ports, and stopped (its data deleted) at the end. A Docker Engine that already
answers at DOCKER_HOST or /var/run/docker.sock is reused; otherwise a private dockerd is started.
Set ``LOGFLEET_SKIP_SERVERS=1`` to skip the ``servers`` tests (CI never does).

Tests of the search side take ``engine_settings`` instead (or ``search_engine`` for the server itself): they run
once on the Elasticsearch stand-in and once on a real OpenSearch node, started once per session when the first
such test asks for it (``opensearch``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from logfleet.core.config import Settings
from logfleet.devstack.busybox_image import IMAGE
from logfleet.devstack.ports import free_port
from logfleet.devstack.stack import SYSTEM_DOCKER, docker_answers, down, up
from tests.support import SearchServer


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("LOGFLEET_SKIP_SERVERS") != "1":
        return
    skip = pytest.mark.skip(reason="LOGFLEET_SKIP_SERVERS=1: tests that need the local stack are skipped")
    for item in items:
        if item.get_closest_marker("servers") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """Settings pointing at a local stack started for this session (and stopped after it)."""
    stack_dir = Path(tempfile.mkdtemp(prefix="lf", dir="/tmp"))
    hosts = [host for host in (os.environ.get("DOCKER_HOST", ""), SYSTEM_DOCKER) if host]
    private = not any(docker_answers(host) for host in hosts)
    try:
        record = up(stack_dir, kafka_port=free_port(), es_port=free_port(), private_docker=private)
        os.environ["LOGFLEET_TEST_STACK_DIR"] = str(stack_dir)  # for tests that stop and start a server
        yield dataclasses.replace(
            Settings(),
            docker_host=record.docker_host,
            kafka_bootstrap=record.kafka_bootstrap,
            es_url=record.es_url,
            state_dir=str(stack_dir / "state"),
        )
    finally:
        down(stack_dir, purge=True)


@pytest.fixture(scope="session")
def docker_image(stack: Settings) -> str:
    """A small image (busybox: sh, echo, seq, awk, sleep, ...) present in the stack's Docker Engine."""
    return IMAGE


@pytest.fixture
async def pipeline_settings(stack: Settings, tmp_path: Path) -> AsyncIterator[Settings]:
    """Settings isolated for one test (own topics, groups, namespace), with topics and templates
    created; the test's data streams are deleted afterwards to keep the shared server small."""
    from tests.support import drop_namespace, isolated, prepare

    settings = isolated(stack, tmp_path)
    await prepare(settings)
    yield settings
    await drop_namespace(settings)


# --- The search engine under test: the Elasticsearch stand-in (in `stack`) or a real OpenSearch. -------------


@pytest.fixture(scope="session")
def opensearch() -> Iterator[SearchServer]:
    """A real single-node OpenSearch (logfleet.devstack.opensearch_node) for this session, stopped and its
    data deleted after it."""
    from logfleet.devstack import opensearch_node

    data = Path(tempfile.mkdtemp(prefix="lfos", dir="/tmp"))
    port = free_port()
    pid = [opensearch_node.start(data, port)]

    def stop() -> None:
        opensearch_node.stop(pid[0], data)

    def start() -> None:
        pid[0] = opensearch_node.start(data, port)

    try:
        yield SearchServer("opensearch", f"http://127.0.0.1:{port}", stop, start)
    finally:
        stop()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(params=["elasticsearch-standin", "opensearch"])
def search_engine(request: pytest.FixtureRequest, stack: Settings) -> SearchServer:
    """Each engine in turn: the stand-in of the session stack, then the session's real OpenSearch."""
    if request.param == "opensearch":
        server: SearchServer = request.getfixturevalue("opensearch")
        return server
    from tests.support import noida_service

    return SearchServer("elasticsearch-standin", stack.es_url, lambda: noida_service("stop", "elasticsearch"),
                        lambda: noida_service("start", "elasticsearch"))


@pytest.fixture
async def engine_settings(stack: Settings, search_engine: SearchServer, tmp_path: Path) -> AsyncIterator[Settings]:
    """Like ``pipeline_settings``, on the engine ``search_engine`` names: own topics, groups and namespace,
    topics and templates created; the test's data streams are deleted afterwards."""
    from tests.support import drop_namespace, isolated, prepare

    settings = dataclasses.replace(isolated(stack, tmp_path), es_url=search_engine.url)
    await prepare(settings)
    yield settings
    await drop_namespace(settings)
