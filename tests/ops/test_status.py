"""``logfleet status`` through the real CLI: after real containers' lines went through the pipeline,
the checkpoints, the lag of both groups and the documents per data stream are what happened."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from indexer.daemon import Indexer
from logfleet.core.bulkbody import dataset_for
from logfleet.core.config import Settings
from logfleet.ops.status import consumer_lag
from processor.daemon import Processor
from shipper.checkpoints import CheckpointStore
from shipper.daemon import Shipper
from tests.support import cli_env, count_docs, running, start_container, wait_for

GOOD, DEAD = 200, 20


def _status(settings: Settings, fmt: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **cli_env(settings),
        # cli_env does not carry the groups; the isolated settings have their own
        "LOGFLEET_PROCESSOR_GROUP": settings.processor_group,
        "LOGFLEET_INDEXER_GROUP": settings.indexer_group,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "logfleet", "status", "--format", fmt, "--minutes", "30"],
        env=environment, capture_output=True, text=True, timeout=90, check=False,
    )


async def _lag_zero(settings: Settings) -> bool:
    lag = await consumer_lag(settings)
    return bool(lag["ok"]) and all(
        stage["lag"] == 0 and all(r["committed"] is not None for r in stage["partitions"] if r["end_offset"])
        for stage in lag["stages"]
    )


@pytest.mark.servers
async def test_status_after_real_lines_went_through(engine_settings: Settings) -> None:
    settings = engine_settings
    tag = uuid.uuid4().hex[:8]
    warn, strict = f"status-{tag}", f"status-strict-{tag}"
    good = start_container(settings, f"seq 1 {GOOD}", name=warn)
    dead = start_container(settings, f"seq 1 {DEAD}", name=strict, labels={"logfleet.format": "strict"})
    good.wait(timeout=60)
    dead.wait(timeout=60)

    async def arrived() -> bool:
        return (await count_docs(settings, warn), await count_docs(settings, strict)) == (GOOD, DEAD)

    async with running(Shipper(settings), Processor(settings), Indexer(settings)):
        assert await wait_for(arrived, within=120), "not everything arrived in Elasticsearch"
        assert await wait_for(lambda: _lag_zero(settings), within=60), await consumer_lag(settings)

    stream = f"logs-{dataset_for({'name': warn})}-{settings.namespace}"
    deadletters = f"logs-logfleet.deadletter-{settings.namespace}"

    result = _status(settings, "json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = orjson.loads(result.stdout)
    assert report["unreachable"] == []

    checkpoints = {c["container_id"]: c for c in report["checkpoints"]["containers"]}
    assert {good.id, dead.id} <= set(checkpoints)
    for cid in (good.id, dead.id):
        assert 0 <= checkpoints[cid]["age_s"] < 300
        assert checkpoints[cid]["last_line_ts_ns"] > 0

    # one broker: replication 1 and min.insync.replicas 1 (what the cluster allows), all healthy
    topics = report["topics"]
    assert (topics["under_replicated"], topics["offline"]) == (0, 0)
    assert [(t["topic"], t["partitions"], t["replication_factor"], t["min_insync_replicas"])
            for t in topics["topics"]] == [(name, settings.topic_partitions, 1, 1) for name in
                                           (settings.topic_raw, settings.topic_events, settings.topic_dlq)]

    stages = {s["stage"]: s for s in report["lag"]["stages"]}
    assert stages["processor"]["group"] == settings.processor_group
    assert stages["indexer"]["group"] == settings.indexer_group
    assert {r["topic"] for r in stages["processor"]["partitions"]} == {settings.topic_raw}
    assert {r["topic"] for r in stages["indexer"]["partitions"]} == {settings.topic_events, settings.topic_dlq}
    assert len(stages["processor"]["partitions"]) == settings.topic_partitions
    for stage in stages.values():
        assert stage["lag"] == 0 and stage["missing_topics"] == []
        assert all(r["lag"] == 0 for r in stage["partitions"])
    # something really went through each topic, and was committed
    for stage, topic in (("processor", settings.topic_raw), ("indexer", settings.topic_events),
                         ("indexer", settings.topic_dlq)):
        rows = [r for r in stages[stage]["partitions"] if r["topic"] == topic]
        assert sum(r["end_offset"] for r in rows) > 0, topic
        assert all(r["committed"] == r["end_offset"] for r in rows if r["end_offset"]), rows

    docs = report["documents"]
    counted = {s["data_stream"]: s["documents"] for s in docs["streams"]}
    assert counted.get(stream) == GOOD, docs
    assert counted[deadletters] == DEAD
    assert docs["dead_letters"] == DEAD
    assert docs["documents"] == sum(counted.values()) - DEAD

    table = _status(settings, "table")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert any(line.split()[:1] == [good.id[:12]] for line in lines), table.stdout
    assert any(line.split()[:1] == [dead.id[:12]] for line in lines), table.stdout
    assert "  processor  total lag 0" in lines and "  indexer    total lag 0" in lines, table.stdout
    assert [line.split() for line in lines if line.startswith(f"  {settings.topic_raw} ")] == [
        [settings.topic_raw, str(settings.topic_partitions), "1", "1", "-", "-"]], table.stdout
    assert [line.split() for line in lines if stream in line] == [[stream, str(GOOD)]]
    assert [line.split() for line in lines if "dead letters" in line] == [["dead", "letters", str(DEAD)]]


def test_unreachable_servers_are_named_and_the_rest_still_shown(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "shipper-checkpoints.json")
    store.advance("c0ffee" * 10 + "abcd", (1_790_000_000_000_000_000, 3))
    store.save()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGFLEET_")}
    env.update(
        LOGFLEET_STACK_DIR="/nonexistent-stack",
        LOGFLEET_STATE_DIR=str(tmp_path),
        LOGFLEET_KAFKA_BOOTSTRAP="127.0.0.1:1",
        LOGFLEET_ES_URL="http://127.0.0.1:1",
    )
    for fmt in ("json", "table"):
        result = subprocess.run(
            [sys.executable, "-m", "logfleet", "status", "--format", fmt],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )
        assert result.returncode == 4, result.stderr
        assert result.stderr.strip() == "logfleet: unreachable: topics, lag, documents"
        if fmt == "json":
            report = orjson.loads(result.stdout)
            assert report["unreachable"] == ["topics", "lag", "documents"]
            assert "Kafka at 127.0.0.1:1" in report["topics"]["error"]
            [entry] = report["checkpoints"]["containers"]
            assert entry["container_id"] == "c0ffee" * 10 + "abcd" and entry["state"] == "following"
            assert "Kafka at 127.0.0.1:1 unreachable" in report["lag"]["error"]
            assert "Elasticsearch at http://127.0.0.1:1 unreachable" in report["documents"]["error"]
        else:
            assert "c0ffeec0ffee" in result.stdout and "2026-09-21T" in result.stdout
            assert result.stdout.count("UNREACHABLE:") == 3
