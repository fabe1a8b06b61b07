"""The local stack: ``up`` is idempotent, ``down`` stops only what ``up`` started, the image works."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import docker
import orjson
import pytest
from click.testing import CliRunner

from logfleet.commands.stack import stack_group
from logfleet.core.config import Settings, load_settings, read_stack_record
from logfleet.core.errors import StackError
from logfleet.devstack import processes
from logfleet.devstack.busybox_image import IMAGE
from logfleet.devstack.ports import free_port
from logfleet.devstack.stack import StackRecord, docker_answers, down, env_lines, status, up


@pytest.fixture
def stack_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lft", dir="/tmp"))
    try:
        yield path
    finally:
        down(path, purge=True)
        shutil.rmtree(path, ignore_errors=True)


def _group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process sits in process group ``pgid``."""
    for entry in Path("/proc").iterdir():
        try:
            state, _, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError, NotADirectoryError):
            continue
        if int(group) == pgid and state not in ("Z", "X"):
            return True
    return False


@pytest.mark.servers
def test_up_twice_then_down_stops_only_what_up_started(
    stack: Settings, stack_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", stack.docker_host)  # reuse the session's engine: Kafka and noida-db start
    kafka_port, es_port = free_port(), free_port()
    first = up(stack_dir, kafka_port=kafka_port, es_port=es_port)
    assert first.docker_host == stack.docker_host
    assert first.started["dockerd"] is None
    noida = first.started["noida"]
    assert noida is not None
    assert first.kafka is not None
    kafka_pid = first.kafka.pids[1]
    assert kafka_pid is not None
    assert [line.split()[:2] for line in first.started_now] == [["Apache", "Kafka"], ["noida-db", "(pid"]]
    properties = stack_dir.absolute() / "kafka/node-1/server.properties"
    assert processes.argv_of(kafka_pid)[-3:-1] == ["kafka.Kafka", str(properties)]
    assert first.kafka_bootstrap == f"127.0.0.1:{kafka_port}"
    assert first.es_url == f"http://127.0.0.1:{es_port}"

    second = up(stack_dir, kafka_port=free_port(), es_port=free_port())
    assert second.started_now == []
    assert second.started == first.started
    assert second.settings() == first.settings()
    assert read_stack_record(stack_dir) == first.settings()
    loaded = load_settings(env={"LOGFLEET_STACK_DIR": str(stack_dir)})
    assert (loaded.kafka_bootstrap, loaded.es_url, loaded.state_dir) == (
        first.kafka_bootstrap, first.es_url, str(stack_dir / "state"))

    report = status(stack_dir)
    assert {name: report[name]["answers"] for name in ("docker", "kafka", "elasticsearch")} == {
        "docker": True, "kafka": True, "elasticsearch": True}
    assert report["kafka"]["address"] == first.kafka_bootstrap
    assert report["elasticsearch"]["pid"] == noida
    assert report["kafka"]["pid"] == kafka_pid
    assert report["kafka"]["nodes"] == [{"node_id": 1, "roles": "broker,controller", "address": first.kafka_bootstrap,
                                         "pid": kafka_pid, "answers": True}]
    assert report["docker"]["pid"] is None

    lines = env_lines(second)
    assert f"export DOCKER_HOST={stack.docker_host}" in lines
    assert f"export LOGFLEET_KAFKA_BOOTSTRAP={first.kafka_bootstrap}" in lines
    assert f"export LOGFLEET_ES_URL={first.es_url}" in lines
    assert f"export LOGFLEET_STATE_DIR={stack_dir / 'state'}" in lines

    assert down(stack_dir) == [f"kafka node 1 (pid {kafka_pid})", f"noida-db (pid {noida})"]
    assert not _group_alive(kafka_pid)
    assert not _group_alive(noida)  # the wrapper and the server binary it runs are both gone
    assert docker_answers(stack.docker_host)  # the reused engine is left alone
    recorded = orjson.loads((stack_dir / "stack.json").read_bytes())
    assert recorded["started"] == {"dockerd": None, "noida": None, "opensearch": None}
    assert [node["pid"] for node in recorded["kafka"]] == [None]
    after = status(stack_dir)
    assert not after["kafka"]["answers"] and not after["elasticsearch"]["answers"]
    assert down(stack_dir) == []


@pytest.mark.servers
def test_container_from_local_image_prints_a_line(stack: Settings, docker_image: str) -> None:
    assert docker_image == IMAGE
    client = docker.DockerClient(base_url=stack.docker_host)
    try:
        container = client.containers.run(docker_image, ["echo", "hi"], detach=True, init=True)
        try:
            assert container.wait(timeout=30)["StatusCode"] == 0
            assert container.logs() == b"hi\n"
        finally:
            container.remove(force=True)
        tools = client.containers.run(docker_image, ["sh", "-c", "seq 3 | awk '{s+=$1} END {print s}'"],
                                      init=True, remove=True)
        assert tools == b"6\n"
    finally:
        client.close()


@pytest.mark.servers
def test_stack_settings_point_at_live_servers(stack: Settings) -> None:
    report_dir = Path(stack.state_dir).parent
    report = status(report_dir)
    assert all(report[name]["answers"] for name in ("docker", "kafka", "elasticsearch"))
    assert Path(stack.state_dir).is_dir()


def test_down_leaves_a_recorded_pid_that_is_no_longer_ours(stack_dir: Path) -> None:
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        record = StackRecord(stack_dir, "unix:///nonexistent.sock", "127.0.0.1:1", "http://127.0.0.1:1",
                             str(stack_dir / "state"), "private", {"dockerd": stranger.pid,
                                                                  "noida": stranger.pid})
        (stack_dir / "stack.json").write_bytes(orjson.dumps(record.to_json()))
        assert down(stack_dir) == []
        assert stranger.poll() is None
        assert read_stack_record(stack_dir)["kafka_bootstrap"] == "127.0.0.1:1"
    finally:
        stranger.send_signal(signal.SIGKILL)
        stranger.wait()


def test_down_without_a_record_stops_nothing(stack_dir: Path) -> None:
    assert down(stack_dir) == []
    assert down(stack_dir / "missing") == []


def test_private_docker_needs_a_short_stack_dir(stack_dir: Path) -> None:
    deep = stack_dir / ("x" * 60)
    with pytest.raises(StackError, match="too long"):
        up(deep, private_docker=True)


def test_private_docker_needs_root(stack_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(StackError, match="needs root"):
        up(stack_dir, private_docker=True)


def test_env_lines_are_shell_quoted(tmp_path: Path) -> None:
    record = StackRecord(tmp_path, "unix:///tmp/a b/docker.sock", "127.0.0.1:9092", "http://127.0.0.1:9200",
                         "/tmp/a b/state")
    assert env_lines(record) == [
        "export DOCKER_HOST='unix:///tmp/a b/docker.sock'",
        "export LOGFLEET_KAFKA_BOOTSTRAP=127.0.0.1:9092",
        "export LOGFLEET_ES_URL=http://127.0.0.1:9200",
        "export LOGFLEET_STATE_DIR='/tmp/a b/state'",
    ]


def test_free_port_can_be_bound() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


def test_cli_reports_a_stack_error_in_one_line(stack_dir: Path) -> None:
    result = CliRunner().invoke(stack_group, ["env", "--stack-dir", str(stack_dir)])
    assert result.exit_code == StackError.exit_code
    assert result.output.strip().splitlines() == [
        f"logfleet stack env: no stack recorded in {stack_dir}; run `logfleet stack up` first"]
    assert "Traceback" not in result.output


def test_cli_help_describes_every_subcommand() -> None:
    for command in ("up", "down", "status", "env"):
        result = CliRunner().invoke(stack_group, [command, "--help"])
        assert result.exit_code == 0
        assert "--stack-dir" in result.output
