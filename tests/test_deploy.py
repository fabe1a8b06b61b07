"""Static checks of the deployment files: Dockerfile, .dockerignore, docker-compose.yml.

A Docker build is not possible on the CI machines (no image registry is reachable for the base
image), so the Dockerfile is checked here for what a build would rely on: two stages from a pinned
base, the package installed into a venv, schemas/ and kibana/ copied where LOGFLEET_SCHEMAS_DIR
and LOGFLEET_KIBANA_OBJECTS point, a non-root user, the entry point and a health check. The
compose file is parsed (PyYAML) and checked against what README.md documents.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PINNED = re.compile(r"^[\w./-]+(:[\w.-]*\d[\w.-]*)?(@sha256:[0-9a-f]{64})?$")


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append((keyword.upper(), args.strip()))
    return out


def _stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, args in instructions:
        if keyword == "FROM":
            stages.append([])
        stages[-1].append((keyword, args))
    return stages


def _env(stage: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for keyword, args in stage:
        if keyword == "ENV":
            for pair in shlex.split(args):
                key, _, value = pair.partition("=")
                values[key] = value
    return values


@pytest.fixture(scope="module")
def dockerfile() -> list[list[tuple[str, str]]]:
    return _stages(_instructions((ROOT / "Dockerfile").read_text()))


def test_dockerfile_is_multi_stage_from_a_pinned_slim_python(dockerfile: list[list[tuple[str, str]]]) -> None:
    assert len(dockerfile) >= 2
    for stage in dockerfile:
        image = stage[0][1].split()[0]
        assert PINNED.match(image) and ":" in image, f"base image not pinned: {image}"
        name, tag = image.split("@")[0].split(":")
        assert name == "python" and re.match(r"3\.11\.\d+-slim", tag), image
        assert tag != "latest"


def test_dockerfile_installs_into_a_venv_in_the_build_stage(dockerfile: list[list[tuple[str, str]]]) -> None:
    build, runtime = dockerfile[0], dockerfile[-1]
    assert " AS " in build[0][1].upper()
    build_name = build[0][1].split()[-1]
    runs = " ".join(args for keyword, args in build if keyword == "RUN")
    assert "python -m venv /opt/logfleet/venv" in runs
    assert "/opt/logfleet/venv/bin/pip install ." in runs
    copied = [args for keyword, args in build if keyword == "COPY"]
    for package in ("logfleet", "shipper", "processor", "indexer"):
        assert any(args.split()[0] == package for args in copied), package
    assert any(args.startswith("pyproject.toml") for args in copied)
    assert not any(keyword == "RUN" and "pip" in args for keyword, args in runtime), "pip in the runtime stage"
    assert ("COPY", f"--from={build_name} /opt/logfleet /opt/logfleet") in runtime
    assert _env(runtime)["PATH"].startswith("/opt/logfleet/venv/bin:")


def test_dockerfile_ships_schemas_and_kibana_where_setup_finds_them(
    dockerfile: list[list[tuple[str, str]]],
) -> None:
    copies = {args.split()[0]: args.split()[-1] for keyword, args in dockerfile[0] if keyword == "COPY"}
    env = _env(dockerfile[-1])
    assert copies["schemas"] == env["LOGFLEET_SCHEMAS_DIR"]
    assert copies["kibana/logfleet.ndjson"] == env["LOGFLEET_KIBANA_OBJECTS"]
    assert (ROOT / "schemas" / "elasticsearch").is_dir()  # what logfleet.ops.provision.schemas_dir() requires
    assert (ROOT / "kibana" / "logfleet.ndjson").is_file()
    assert env["LOGFLEET_STATE_DIR"] == "/var/lib/logfleet"


def test_dockerfile_runs_as_logfleet_with_entrypoint_and_healthcheck(
    dockerfile: list[list[tuple[str, str]]],
) -> None:
    runtime = dockerfile[-1]
    users = [args for keyword, args in runtime if keyword == "USER"]
    assert users and users[-1] == "logfleet"
    assert "useradd" in " ".join(args for keyword, args in runtime if keyword == "RUN")
    entry = [args for keyword, args in runtime if keyword == "ENTRYPOINT"]
    assert entry and json.loads(entry[-1]) == ["logfleet"]
    [health] = [args for keyword, args in runtime if keyword == "HEALTHCHECK"]
    assert "/healthz" in health and "9464" in health
    command = json.loads(health.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    compile(command[2], "healthcheck", "exec")  # the inline check is valid Python


def test_dockerignore_keeps_out_the_venv_and_git_but_not_what_the_build_copies() -> None:
    ignored = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "tests"} <= ignored
    for needed in ("pyproject.toml", "README.md", "logfleet", "shipper", "processor", "indexer", "schemas", "kibana"):
        assert needed not in ignored, needed


# ---------------------------------------------------------------------------------------------- compose

@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # PyYAML is not among the test extras yet: the compose checks are skipped where it is missing.
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to parse docker-compose.yml")
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


LOGFLEET_SERVICES = {"setup", "setup-kibana", "shipper", "processor", "indexer"}
DAEMONS = {"shipper", "processor", "indexer"}


def test_every_service_has_an_image_and_servers_are_pinned(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "elasticsearch", "kibana"} | LOGFLEET_SERVICES
    for name, service in services.items():
        assert service.get("image"), name
    assert re.fullmatch(r"apache/kafka:\d+\.\d+\.\d+", services["kafka"]["image"])
    elastic = r"docker\.elastic\.co/elasticsearch/elasticsearch:8\.\d+\.\d+"
    assert re.fullmatch(elastic, services["elasticsearch"]["image"])
    assert re.fullmatch(r"docker\.elastic\.co/kibana/kibana:8\.\d+\.\d+", services["kibana"]["image"])
    assert services["kibana"]["image"].split(":")[1] == services["elasticsearch"]["image"].split(":")[1]
    for name in LOGFLEET_SERVICES:
        assert services[name]["image"] == "logfleet:0.1.0" and services[name]["build"] == "."


def test_kafka_runs_in_kraft_mode(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "ZOOKEEPER" not in " ".join(env) and env["KAFKA_CONTROLLER_QUORUM_VOTERS"]


def test_shipper_reads_the_docker_socket_read_only_on_every_node(compose: dict[str, Any]) -> None:
    shipper = compose["services"]["shipper"]
    assert "/var/run/docker.sock:/var/run/docker.sock:ro" in shipper["volumes"]
    assert shipper["deploy"]["mode"] == "global"
    assert shipper["group_add"] and "user" not in shipper  # the image's non-root user, plus the socket's group
    assert shipper["environment"]["LOGFLEET_STATE_DIR"] == "/var/lib/logfleet"
    assert "shipper-state:/var/lib/logfleet" in shipper["volumes"]
    assert shipper["environment"]["LOGFLEET_KAFKA_BOOTSTRAP"] == "kafka:9092"


def test_processors_and_indexers_have_replicas(compose: dict[str, Any]) -> None:
    for name in ("processor", "indexer"):
        assert compose["services"][name]["deploy"]["replicas"] >= 2, name
        assert compose["services"][name]["command"] == [name, "run"]


def test_named_volumes_are_declared_and_used(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    used = {
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith("/")
    }
    assert used == declared == {"kafka-data", "es-data", "shipper-state"}


def test_health_checks_where_documented(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("kafka", "elasticsearch", "kibana", *DAEMONS):
        check = services[name]["healthcheck"]
        assert check.get("test") and not check.get("disable"), name
    for name in DAEMONS:
        assert "/healthz" in " ".join(services[name]["healthcheck"]["test"])
        assert "9464" in " ".join(services[name]["healthcheck"]["test"])
    for name in ("setup", "setup-kibana"):  # one-shot commands serve no /healthz
        assert services[name]["healthcheck"] == {"disable": True}
        assert services[name]["restart"] == "no"
    assert services["setup"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert services["setup"]["depends_on"]["elasticsearch"]["condition"] == "service_healthy"
    assert services["setup-kibana"]["depends_on"]["kibana"]["condition"] == "service_healthy"
    for name in DAEMONS:
        assert services[name]["depends_on"]["setup"]["condition"] == "service_completed_successfully"


def test_environments_are_kept_apart_by_namespace(compose: dict[str, Any]) -> None:
    for name in LOGFLEET_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["LOGFLEET_NAMESPACE"] == "${LOGFLEET_NAMESPACE:-default}", name
        for key in ("LOGFLEET_TOPIC_RAW", "LOGFLEET_TOPIC_EVENTS", "LOGFLEET_TOPIC_DLQ",
                    "LOGFLEET_PROCESSOR_GROUP", "LOGFLEET_INDEXER_GROUP"):
            assert "${LOGFLEET_NAMESPACE:-default}" in env[key], (name, key)
        assert compose["services"][name]["labels"]["logfleet.enable"] == "false"  # never ships itself
    text = (ROOT / "docker-compose.yml").read_text()
    for namespace in ("dev", "test", "prod"):
        assert f"LOGFLEET_NAMESPACE={namespace}" in text


# ---------------------------------------------------------------------------------------------- deploy/


def _unit(path: Path) -> dict[str, list[str]]:
    """``Key`` -> values of a systemd unit (keys may repeat, sections are not told apart)."""
    values: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_systemd_unit_runs_the_shipper_as_logfleet_and_stops_it_cleanly() -> None:
    from logfleet.cli import cli

    unit = _unit(ROOT / "deploy" / "logfleet-shipper.service")
    expected = {
        "User": ["logfleet"],
        "SupplementaryGroups": ["docker"],
        "EnvironmentFile": ["/etc/logfleet/env"],
        "Restart": ["always"],
        "KillSignal": ["SIGTERM"],
        "TimeoutStopSec": ["30"],
        "StateDirectory": ["logfleet"],
        "WantedBy": ["multi-user.target"],
    }
    for key, value in expected.items():
        assert unit.get(key) == value, key
    [exec_start] = unit["ExecStart"]
    binary, *args = exec_start.split()
    assert binary.endswith("/bin/logfleet") and args == ["shipper", "run"]
    group = cli.commands["shipper"]
    assert hasattr(group, "commands") and "run" in group.commands
    # StateDirectory=logfleet is /var/lib/logfleet, where the shipper must keep its checkpoints
    assert "LOGFLEET_STATE_DIR=/var/lib/logfleet" in unit["Environment"]
    # the shipper's own stop budget (finish the batch, wait for acks) must fit in TimeoutStopSec
    from logfleet.ops.runner import run_until_signalled

    grace = run_until_signalled.__kwdefaults__["grace_s"]  # type: ignore[index]
    assert grace < int(unit["TimeoutStopSec"][0])


def _served_metric_names() -> set[str]:
    """Names the daemons serve: what their metrics() return now (unlabelled series are always there)
    and every name written in their source (labelled series appear only once counted)."""
    import dataclasses

    from indexer.daemon import Indexer
    from logfleet.core.config import Settings
    from processor.daemon import Processor
    from shipper.daemon import Shipper

    settings = dataclasses.replace(Settings(), state_dir="/nonexistent-state")
    names = {f"logfleet_{m.name}" for d in (Shipper(settings), Processor(settings), Indexer(settings))
             for m in d.metrics()}
    for source in ("shipper/daemon.py", "processor/daemon.py", "indexer/daemon.py"):
        text = (ROOT / source).read_text()
        names |= {f"logfleet_{n}" for n in re.findall(r'Metric\(\s*"([a-z0-9_]+)"', text)}
    # the consumer lag gauges appear once measured, from each daemon's LagMonitor
    from logfleet.clients.lag import LagMonitor, metric_names

    for daemon in (Processor(settings), Indexer(settings)):
        monitor = daemon.lag
        assert isinstance(monitor, LagMonitor)
        names |= {f"logfleet_{n}" for n in metric_names(monitor.stage)}
    return names


def test_every_metric_in_the_alert_rules_is_served() -> None:
    text = (ROOT / "deploy" / "alerts.yml").read_text()
    used = set(re.findall(r"\blogfleet_[a-z0-9_]+", text))
    served = _served_metric_names()
    assert used, "no logfleet metric in alerts.yml"
    assert used <= served, f"not served by any daemon: {sorted(used - served)}"
    # the documented alerts: shipper silent, checkpoint age growing, dead letters rising, indexer retries
    for needed in (
        "logfleet_shipper_lines_acked_total",
        "logfleet_shipper_checkpoint_age_seconds",
        "logfleet_processor_dead_letters_total",
        "logfleet_indexer_dead_lettered_total",
        "logfleet_indexer_retried_total",
        "logfleet_processor_consumer_lag_records",
        "logfleet_indexer_consumer_lag_records",
    ):
        assert needed in used, needed


def test_alert_rules_are_well_formed(compose: dict[str, Any]) -> None:  # compose: skips without PyYAML
    import yaml

    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    names = [rule["alert"] for rule in alerts]
    assert len(names) == len(set(names))
    assert {"LogfleetShipperSilent", "LogfleetCheckpointAgeGrowing", "LogfleetDeadLettersRising",
            "LogfleetIndexerRetriesRising"} <= set(names)
    for rule in alerts:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["expr"].strip() and rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["expr"].count("(") == rule["expr"].count(")"), rule["alert"]
