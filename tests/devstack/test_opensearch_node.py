"""The development OpenSearch node: built from the Maven project, started detached, stopped by pid."""

from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path

import orjson
import pytest

from logfleet.core.errors import StackError
from logfleet.devstack import opensearch_node
from logfleet.devstack.ports import free_port

POM = Path(__file__).resolve().parents[2] / "stack" / "opensearch" / "pom.xml"


def test_the_python_module_and_the_pom_pin_the_same_version() -> None:
    pinned = re.search(r"<opensearch.version>([^<]+)</opensearch.version>", POM.read_text())
    assert pinned is not None
    assert pinned.group(1) == opensearch_node.VERSION


def test_the_cache_folder_follows_logfleet_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOGFLEET_CACHE_DIR", str(tmp_path))
    assert opensearch_node.cache_dir() == tmp_path / f"opensearch-{opensearch_node.VERSION}"


@pytest.mark.servers
def test_a_node_starts_answers_as_opensearch_and_stops(tmp_path: Path) -> None:
    port = free_port()
    pid = opensearch_node.start(tmp_path / "node", port)
    try:
        assert opensearch_node.is_running(pid, tmp_path / "node")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            answer = orjson.loads(resp.read())
        assert answer["version"]["distribution"] == "opensearch"
        assert answer["version"]["number"] == opensearch_node.VERSION
        assert not opensearch_node.is_running(pid, tmp_path / "elsewhere")  # the pid alone is not proof
    finally:
        assert opensearch_node.stop(pid, tmp_path / "node")
    assert not opensearch_node.is_running(pid, tmp_path / "node")
    assert not opensearch_node.stop(pid, tmp_path / "node")  # gone: nothing is signalled
    assert "closed" in (tmp_path / "node" / "opensearch.log").read_text()  # SIGTERM closed it cleanly


@pytest.mark.servers
def test_a_node_that_cannot_bind_its_port_raises_stack_error_with_its_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        with pytest.raises(StackError) as failed:
            opensearch_node.start(tmp_path / "node", port, timeout=90)
    assert "OpenSearch exited" in str(failed.value)
    assert "Bind" in str(failed.value) or "in use" in str(failed.value)
