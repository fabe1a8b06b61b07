"""`logfleet audit` over records that real containers wrote through the whole pipeline.

Three busybox containers log JSON lines (two Compose services, stdout and stderr, three levels);
shipper -> Kafka -> processor -> Kafka -> indexer put them in Elasticsearch. While the pipeline
runs, `audit follow` watches a fourth container that starts later and writes a line every 0.1 s:
every line must appear once, in order, as it arrives. Then search, stats, export and violations
answer about the records, and each answer is checked against what the containers wrote.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import Counter
from typing import Any

import orjson
import pytest

from indexer.daemon import Indexer
from logfleet.core.config import Settings
from processor.daemon import Processor
from shipper.daemon import Shipper
from tests.ops.test_audit_data import Follower
from tests.support import docs_reach, logfleet_cli, running, start_container, wait_for

pytestmark = [pytest.mark.servers]

# 30 lines from the api: every tenth an error; 20 from the worker on stderr: every fourth a warning.
API = r"""
i=0
while [ $i -lt 30 ]; do
  if [ $((i % 10)) -eq 9 ]; then lvl=error; else lvl=info; fi
  echo "{\"level\":\"$lvl\",\"message\":\"api request $i\"}"
  i=$((i+1))
done
"""
WORKER = r"""
i=0
while [ $i -lt 20 ]; do
  if [ $((i % 4)) -eq 3 ]; then lvl=warn; else lvl=debug; fi
  echo "{\"level\":\"$lvl\",\"message\":\"worker job $i\"}" >&2
  i=$((i+1))
done
"""
LIVE = r"""
i=0
while [ $i -lt 20 ]; do
  echo "{\"level\":\"info\",\"message\":\"live $i\"}"
  i=$((i+1))
  sleep 0.1
done
"""


def api_level(i: int) -> str:
    return "error" if i % 10 == 9 else "info"


def worker_level(i: int) -> str:
    return "warn" if i % 4 == 3 else "debug"


def audit(settings: Settings, *args: str) -> str:
    result = logfleet_cli(settings, "audit", *args, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def ndjson(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines()]


async def test_audit_answers_about_real_containers(pipeline_settings: Settings) -> None:
    s = pipeline_settings
    tag = uuid.uuid4().hex[:6]
    api, worker, live = f"api-{tag}", f"worker-{tag}", f"live-{tag}"
    policy = {"logfleet.format": "warn"}  # every line stays an event, whatever the default policy
    async with running(Shipper(s), Processor(s), Indexer(s)):
        start_container(s, API, name=api, labels={"com.docker.compose.service": f"api{tag}", **policy})
        start_container(s, WORKER, name=worker, labels={"com.docker.compose.service": f"worker{tag}", **policy})
        assert await wait_for(lambda: docs_reach(s, 30, api), within=120)
        assert await wait_for(lambda: docs_reach(s, 20, worker), within=120)

        # --since: whatever of the live container arrives before follow's first query is shown too
        follower = await Follower.start(s, "--container", live, "--since", "10m", "--format", "ndjson")
        try:
            start_container(s, LIVE, name=live, labels=policy)
            await follower.until(lines=20, within=120)
        finally:
            code, out, err = await follower.stop()
    assert code == 0, err
    followed = ndjson(out)
    assert [d["message"] for d in followed] == [f"live {i}" for i in range(20)]
    assert all(d["container"]["name"] == live for d in followed)

    # search: in the order written, filters, both sort orders
    docs = ndjson(audit(s, "search", "--container", api, "--limit", "1000", "--format", "ndjson"))
    assert [d["message"] for d in docs] == [f"api request {i}" for i in range(30)]
    assert [d["log"]["level"] for d in docs] == [api_level(i) for i in range(30)]
    assert {d["service"]["name"] for d in docs} == {f"api{tag}"} and {d["stream"] for d in docs} == {"stdout"}
    newest = ndjson(audit(s, "search", "--service", f"worker{tag}", "--sort", "desc", "--format", "ndjson"))
    assert [d["message"] for d in newest] == [f"worker job {i}" for i in reversed(range(20))]
    assert {d["stream"] for d in newest} == {"stderr"}
    errors = ndjson(audit(s, "search", "--level", "error", "--format", "ndjson"))
    assert [d["message"] for d in errors] == ["api request 9", "api request 19", "api request 29"]
    table = audit(s, "search", "\"request 19\"", "--container", api).splitlines()  # a Lucene phrase
    assert len(table) == 2 and table[1].endswith("api request 19") and api in table[1]

    # stats: by service, level and container
    report = json.loads(audit(s, "stats", "--since", "1h", "--format", "json"))
    assert report["records"] == 70
    containers = {e["key"]: e["records"] for e in report["by_container"]}
    assert containers == {api: 30, worker: 20, live: 20}
    levels = {e["key"]: e["records"] for e in report["by_level"]}
    expected_levels = Counter([api_level(i) for i in range(30)] + [worker_level(i) for i in range(20)])
    expected_levels["info"] += 20
    assert levels == dict(expected_levels)
    assert {e["key"]: e["records"] for e in report["by_service"]} == {f"api{tag}": 30, f"worker{tag}": 20, live: 20}

    # export: every record, in time order, each container in the order it wrote
    rows = list(csv.DictReader(io.StringIO(audit(s, "export", "--since", "1h", "--format", "csv", "-o", "-"))))
    assert len(rows) == 70
    assert [r["@timestamp"] for r in rows] == sorted(r["@timestamp"] for r in rows)
    assert [r["message"] for r in rows if r["container.name"] == worker] == [f"worker job {i}" for i in range(20)]
    assert len({r["event.id"] for r in rows}) == 70

    # violations: whatever the format checker found, the report agrees with the records themselves
    everything = ndjson(audit(s, "export", "--since", "1h", "-o", "-"))
    violating = Counter(d["service"]["name"] for d in everything if d.get("logfleet", {}).get("violations"))
    reasons = Counter(
        (d["service"]["name"], r) for d in everything for r in d.get("logfleet", {}).get("violations", [])
    )
    answer = json.loads(audit(s, "violations", "--since", "1h", "--format", "json"))
    services = {e["service"]: e for e in answer["services"]}
    assert {name: e["records"] for name, e in services.items()} == {f"api{tag}": 30, f"worker{tag}": 20, live: 20}
    for name, entry in services.items():
        assert entry["violating"] == violating[name] and entry["dead_letters"] == 0
        assert entry["share"] == pytest.approx(violating[name] / entry["records"])
        assert {(name, r["reason"]): r["violations"] for r in entry["reasons"]} == {
            key: n for key, n in reasons.items() if key[0] == name
        }
