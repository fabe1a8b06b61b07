"""A real container's lines travel shipper -> Kafka -> processor -> Kafka -> indexer -> Elasticsearch
and come back out through ``logfleet audit search`` (issue 2's walking skeleton)."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from indexer.daemon import Indexer
from logfleet.core.config import Settings
from processor.daemon import Processor
from shipper.daemon import Shipper
from tests.support import count_docs, docs_reach, logfleet_cli, running, start_container, wait_for

pytestmark = [pytest.mark.servers]

# 250 JSON objects on stdout and 250 plain lines on stderr, each carrying the second it was written.
SCRIPT = r"""
i=0
while [ $i -lt 250 ]; do
  now=$(date +%s)
  echo "{\"level\":\"info\",\"message\":\"json $i\",\"written\":$now}"
  echo "plain $i written=$now" >&2
  i=$((i+1))
done
"""


def _expected() -> dict[str, str]:
    out = {f"json {i}": "stdout" for i in range(250)}
    out.update({f"plain {i}": "stderr" for i in range(250)})
    return out


async def _search(settings: Settings, name: str) -> list[dict[str, object]]:
    result = logfleet_cli(settings, "audit", "search", "--container", name, "--format", "ndjson", "--limit", "2000")
    assert result.returncode == 0, result.stderr
    return [orjson.loads(line) for line in result.stdout.splitlines()]


async def test_500_lines_arrive_once_each_with_stream_name_and_time(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    settings = pipeline_settings
    name = f"skeleton-{uuid.uuid4().hex[:8]}"
    container = start_container(settings, SCRIPT, name=name)
    container.wait(timeout=60)

    async with running(Shipper(settings), Processor(settings), Indexer(settings)):
        assert await wait_for(lambda: docs_reach(settings, 500, name), within=90)

    docs = await _search(settings, name)
    expected = _expected()
    assert len(docs) == 500
    seen: dict[str, str] = {}
    for doc in docs:
        message = str(doc["message"])
        written = message.rsplit("written=", 1)[1] if "written=" in message else None
        if message.startswith("json"):
            written = str(orjson.loads(str(doc["event"]["original"]))["written"])  # type: ignore[index]
        else:
            message = message.rsplit(" written=", 1)[0]
        seen[message] = str(doc["stream"])
        assert doc["container"]["name"] == name  # type: ignore[index]
        stamp = datetime.fromisoformat(str(doc["@timestamp"]).replace("Z", "+00:00")).timestamp()
        # busybox `date` has whole seconds only: a line written at 12.999 and stamped 13.004 by dockerd
        # reads "written=12", so the stamp lies within [written, written + 1 s + scheduling delay).
        assert written is not None and 0 <= stamp - int(written) < 2.0, (doc["@timestamp"], written)
    assert seen == expected


async def test_running_the_pipeline_twice_creates_no_second_copy(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    settings = pipeline_settings
    name = f"twice-{uuid.uuid4().hex[:8]}"
    start_container(settings, "seq 1 300; seq 1 200 >&2", name=name).wait(timeout=60)

    async with running(Shipper(settings), Processor(settings), Indexer(settings)):
        assert await wait_for(lambda: docs_reach(settings, 500, name), within=90)

    # Forget every checkpoint: the second run ships the whole container again.
    (Path(settings.state_dir) / "shipper-checkpoints.json").unlink()
    indexer = Indexer(settings)
    async with running(Shipper(settings), Processor(settings), indexer):
        assert await wait_for(lambda: _duplicates_reach(indexer, 500), within=90)

    assert await count_docs(settings, name) == 500


async def _duplicates_reach(indexer: Indexer, want: int) -> bool:
    return indexer.writer is not None and indexer.writer.stats.duplicates >= want
