"""`logfleet audit` against the local Elasticsearch stand-in, every subcommand in every format.

The records are written directly with ``_bulk`` in the pipeline's own document shape (see
test_audit_data.py): the questions here are about the audit queries, and a known set of records
makes every expected answer computable. test_audit_pipeline.py asks the same questions of records
that real containers wrote through the whole pipeline.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from logfleet.core.config import Settings
from logfleet.core.model import format_ts
from logfleet.ops.audit.output import EXPORT_COLUMNS
from tests.ops.test_audit_data import NS, DeadLetter, Follower, Line, now_ns, write_lines
from tests.support import logfleet_cli

pytestmark = [pytest.mark.servers]

FORMATS = ("table", "json", "ndjson", "csv")


class World:
    """A small, fully known set of records: three containers, two hosts, two services."""

    def __init__(self) -> None:
        self.base = now_ns() - 30 * 60 * NS
        b = self.base
        api = {"service": "api"}
        self.lines = [
            # four lines that share one Docker timestamp: only event.sequence orders them
            Line("api-1", b, "request 1 started", "info", ordinal=0, **api),
            Line("api-1", b, "request 1 db timeout", "error", ordinal=1, **api),
            Line("api-1", b, "request 1 retried", "warn", ordinal=2, **api),
            Line("api-1", b, "request 1 done", "info", ordinal=3, **api),
            # another container one nanosecond before and after
            Line("api-2", b - 1, "request 0 done", "info", host="host-b", **api),
            Line("api-2", b + 1, "request 2 started", "info", host="host-b", violations=("not_json",), **api),
            Line("api-2", b + 2, "request 2 db timeout", "error", host="host-b",
                 violations=("missing_field:service.name", "unknown_level"), **api),
        ]
        for i in range(10):
            level, violations = ("error", ("not_json",)) if i == 5 else ("debug" if i % 2 else "info", ())
            message = f"job {i} failed" if i == 5 else f"job {i} ok"
            self.lines.append(Line("worker-1", b + 60 * NS + i * 1000, message, level, stream="stderr",
                                   service="worker", violations=violations))
        # three days old: outside the 24-hour window of stats and violations
        self.old = Line("worker-1", now_ns() - 3 * 86400 * NS, "job old", "info", service="worker",
                        violations=("not_json",))
        self.lines.append(self.old)
        self.letters = [
            DeadLetter("worker-1", b + 61 * NS, "not_json", "worker", ("not_json",)),
            DeadLetter("worker-1", b + 62 * NS, "not_json", "worker", ("not_json", "missing_field:service.name")),
            DeadLetter("api-1", b + 63 * NS, "mapper_parsing_exception", "api"),  # refused by Elasticsearch
        ]
        self.ids: dict[str, Line] = {}

    def recent(self) -> list[Line]:
        return [line for line in self.lines if line is not self.old]

    def ordered(self, lines: list[Line]) -> list[str]:
        by_line = {id(line): eid for eid, line in self.ids.items()}
        return [x.message for x in sorted(lines, key=lambda x: (x.ts_ns, x.ordinal, by_line[id(x)]))]


@pytest.fixture
async def world(engine_settings: Settings) -> World:
    w = World()
    w.ids = await write_lines(engine_settings, w.lines, w.letters)
    return w


def audit(settings: Settings, *args: str) -> Any:
    result = logfleet_cli(settings, "audit", *args, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def ndjson(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines()]


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def rounded(value: Any) -> Any:
    """Floats rounded (shares are divisions), inside any structure, so answers compare exactly."""
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def rfc3339(ts_ns: int) -> str:
    return format_ts(ts_ns)


# ------------------------------------------------------------------------------------------------ search


async def test_search_orders_by_nanosecond_then_sequence(engine_settings: Settings, world: World) -> None:
    s = engine_settings
    docs = ndjson(audit(s, "search", "--since", "2h", "--limit", "1000", "--format", "ndjson").stdout)
    assert [d["message"] for d in docs] == world.ordered(world.recent())
    assert [d["message"] for d in docs[:5]] == [
        "request 0 done", "request 1 started", "request 1 db timeout", "request 1 retried", "request 1 done",
    ]
    newest_first = ndjson(audit(s, "search", "--since", "2h", "--sort", "desc", "--format", "ndjson").stdout)
    assert [d["message"] for d in newest_first] == world.ordered(world.recent())[::-1]
    assert not any(d["data_stream"]["dataset"] == "logfleet.deadletter" for d in docs)


@pytest.mark.parametrize(
    ("args", "wanted"),
    [
        (["--service", "api"], lambda x: x.service == "api"),
        (["--host", "host-b"], lambda x: x.host == "host-b"),
        (["--level", "ERROR"], lambda x: x.level == "error"),
        (["--container", "worker-1", "--since", "2h"], lambda x: x.container == "worker-1" and x.message != "job old"),
        (["timeout"], lambda x: "timeout" in x.message),
        (["job AND NOT ok"], lambda x: x.message.startswith("job") and "ok" not in x.message),
    ],
    ids=["service", "host", "level", "container-since", "query", "lucene"],
)
async def test_search_filters(engine_settings: Settings, world: World, args: list[str], wanted: Any) -> None:
    docs = ndjson(audit(engine_settings, "search", *args, "--format", "ndjson", "--limit", "1000").stdout)
    assert [d["message"] for d in docs] == world.ordered([x for x in world.lines if wanted(x)])


async def test_search_window_and_limit(engine_settings: Settings, world: World) -> None:
    s, b = engine_settings, world.base
    window = ["--since", rfc3339(b - 10 * NS), "--until", rfc3339(b + 30 * NS)]
    docs = ndjson(audit(s, "search", *window, "--format", "ndjson").stdout)
    assert [d["message"] for d in docs] == world.ordered([x for x in world.lines if x.container.startswith("api")])
    last3 = ndjson(audit(s, "search", "--since", "2h", "--limit", "3", "--format", "ndjson").stdout)
    assert [d["message"] for d in last3] == world.ordered(world.recent())[-3:]  # the most recent, oldest first


async def test_search_in_every_format(engine_settings: Settings, world: World) -> None:
    s = engine_settings
    expected = world.ordered([x for x in world.lines if x.service == "api"])
    out = {fmt: audit(s, "search", "--service", "api", "--format", fmt).stdout for fmt in FORMATS}

    assert [d["message"] for d in json.loads(out["json"])] == expected
    assert json.loads(out["json"]) == ndjson(out["ndjson"])

    rows = csv_rows(out["csv"])
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert [r["message"] for r in rows] == expected
    assert {r["event.id"] for r in rows} == {eid for eid, x in world.ids.items() if x.service == "api"}
    violated = next(r for r in rows if r["message"] == "request 2 db timeout")
    assert json.loads(violated["logfleet.violations"]) == ["missing_field:service.name", "unknown_level"]
    assert violated["host.name"] == "host-b" and violated["log.level"] == "error"

    table = out["table"].splitlines()
    assert table[0].split() == ["@timestamp", "container.name", "service.name", "stream", "log.level", "message"]
    assert [line.split("  ")[-1].strip() for line in table[1:]] == expected
    first = next(x for x in world.lines if x.message == expected[0])
    assert table[1].startswith(format_ts(first.ts_ns)) and "api-2" in table[1]


async def test_search_the_dead_letters(engine_settings: Settings, world: World) -> None:
    docs = ndjson(audit(engine_settings, "search", "--dead-letters", "--format", "ndjson").stdout)
    assert [d["error"]["type"] for d in docs] == ["not_json", "not_json", "mapper_parsing_exception"]
    assert docs[1]["logfleet"]["violations"] == ["not_json", "missing_field:service.name"]
    assert {d["service"]["name"] for d in docs} == {"worker", "api"}


# ------------------------------------------------------------------------------------------------- stats


def expected_stats(world: World) -> dict[str, Any]:
    lines = world.recent()
    total = len(lines)
    out: dict[str, Any] = {"records": total, "dead_letters": len(world.letters)}
    for name, key in (("service", "service"), ("level", "level"), ("container", "container")):
        counts = Counter(getattr(x, key) for x in lines)
        out[f"by_{name}"] = sorted(
            ({"key": k, "records": n, "share": n / total} for k, n in counts.items()),
            key=lambda e: (-e["records"], e["key"]),
        )
    return out


async def test_stats_in_every_format(engine_settings: Settings, world: World) -> None:
    s = engine_settings
    out = {fmt: audit(s, "stats", "--format", fmt).stdout for fmt in FORMATS}
    report = json.loads(out["json"])
    expected = expected_stats(world)
    for key, value in expected.items():
        assert rounded(report[key]) == rounded(value), key
    assert report["by_service"][0] == {"key": "worker", "records": 10, "share": pytest.approx(10 / 17)}

    rows = ndjson(out["ndjson"])
    assert rows[0] == {"dimension": "total", "key": "records", "records": 17, "share": 1.0}
    assert rows[1] == {"dimension": "total", "key": "dead_letters", "records": 3, "share": None}
    for name in ("service", "level", "container"):
        got = [(r["key"], r["records"]) for r in rows if r["dimension"] == name]
        assert got == [(e["key"], e["records"]) for e in expected[f"by_{name}"]]

    assert [(r["dimension"], r["key"], int(r["records"])) for r in csv_rows(out["csv"])] == [
        (r["dimension"], r["key"], r["records"]) for r in rows
    ]

    table = out["table"]
    assert "records: 17   dead letters: 3" in table
    assert any(line.split() == ["worker", "10", "58.8%"] for line in table.splitlines())
    assert any(line.split() == ["error", "3", "17.6%"] for line in table.splitlines())
    assert any(line.split() == ["api-1", "4", "23.5%"] for line in table.splitlines())


async def test_stats_window_and_filters(engine_settings: Settings, world: World) -> None:
    report = json.loads(audit(engine_settings, "stats", "--since", "7d", "--service", "worker",
                              "--format", "json").stdout)
    assert report["records"] == 11  # the three-day-old line counts in a seven-day window
    assert report["dead_letters"] == 2
    assert [e["key"] for e in report["by_service"]] == ["worker"]


# -------------------------------------------------------------------------------------------- violations


def expected_violations(world: World) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for service in ("api", "worker"):
        lines = [x for x in world.recent() if x.service == service]
        letters = [d for d in world.letters if d.service == service]
        reasons: dict[str, list[int]] = {}
        for x in lines:
            for r in x.violations:
                reasons.setdefault(r, [0, 0])[0] += 1
        for d in letters:
            for r in d.violations or (d.reason,):
                reasons.setdefault(r, [0, 0])[1] += 1
        violating = sum(1 for x in lines if x.violations)
        records = len(lines) + len(letters)
        out[service] = {
            "service": service,
            "records": records,
            "violating": violating,
            "dead_letters": len(letters),
            "non_compliant": violating + len(letters),
            "share": (violating + len(letters)) / records,
            "reasons": {r: {"violations": v, "dead_letters": d} for r, (v, d) in reasons.items()},
        }
    return out


async def test_violations_in_every_format(engine_settings: Settings, world: World) -> None:
    s = engine_settings
    out = {fmt: audit(s, "violations", "--format", fmt).stdout for fmt in FORMATS}
    expected = expected_violations(world)

    report = json.loads(out["json"])
    services = {e["service"]: e for e in report["services"]}
    assert set(services) == {"api", "worker"}
    for name, want in expected.items():
        got = dict(services[name])
        assert {r["reason"]: {"violations": r["violations"], "dead_letters": r["dead_letters"]}
                for r in got.pop("reasons")} == want["reasons"]
        assert rounded(got) == rounded({k: v for k, v in want.items() if k != "reasons"})
    assert services["api"]["share"] == pytest.approx(3 / 8)  # 2 kept with violations + 1 dead letter of 8
    assert services["worker"]["reasons"][0] == {"reason": "not_json", "violations": 1, "dead_letters": 2}
    assert report["totals"]["non_compliant"] == 6 and report["totals"]["records"] == 20

    rows = ndjson(out["ndjson"])
    assert len(rows) == sum(len(e["reasons"]) for e in expected.values())
    for row in rows:
        want = expected[row["service"]]
        assert want["reasons"][row["reason"]] == {"violations": row["violations"], "dead_letters": row["dead_letters"]}
        assert (row["records"], row["non_compliant"]) == (want["records"], want["non_compliant"])
        assert row["share"] == pytest.approx(want["share"])
    assert [(r["service"], r["reason"], int(r["violations"]), int(r["dead_letters"])) for r in csv_rows(out["csv"])] \
        == [(r["service"], r["reason"], r["violations"], r["dead_letters"]) for r in rows]

    table = out["table"].splitlines()
    assert "records: 20   non-compliant: 6 (30.0%)   kept with violations: 3   dead letters: 3" in out["table"]
    assert ["api", "8", "2", "1", "3", "37.5%"] in [line.split() for line in table]
    assert ["worker", "12", "1", "2", "3", "25.0%"] in [line.split() for line in table]
    assert ["api", "mapper_parsing_exception", "0", "1"] in [line.split() for line in table]


async def test_violations_of_one_service_over_a_longer_window(engine_settings: Settings, world: World) -> None:
    report = json.loads(audit(engine_settings, "violations", "--since", "7d", "--service", "worker",
                              "--format", "json").stdout)
    (worker,) = report["services"]
    assert (worker["records"], worker["violating"], worker["dead_letters"]) == (13, 2, 2)


# ---------------------------------------------------------------------------------------------- export


async def test_export_ndjson_csv_and_stdout(engine_settings: Settings, world: World, tmp_path: Path) -> None:
    s = engine_settings
    target = tmp_path / "all.ndjson"
    result = audit(s, "export", "-o", str(target))
    docs = ndjson(target.read_text())
    assert [d["message"] for d in docs] == world.ordered(world.lines)
    assert result.stderr.strip().startswith(f"exported {len(world.lines)} of {len(world.lines)} matching records to")
    assert result.stdout == "" and os.listdir(tmp_path) == ["all.ndjson"]

    target = tmp_path / "api.csv"
    audit(s, "export", "--service", "api", "--format", "csv", "-o", str(target))
    rows = csv_rows(target.read_text())
    assert [r["message"] for r in rows] == world.ordered([x for x in world.lines if x.service == "api"])
    assert list(rows[0]) == list(EXPORT_COLUMNS)

    piped = audit(s, "export", "--dead-letters", "-o", "-")
    assert [d["error"]["type"] for d in ndjson(piped.stdout)] == ["not_json", "not_json", "mapper_parsing_exception"]
    assert "exported 3 of 3 matching records to stdout" in piped.stderr


# ---------------------------------------------------------------------------------------------- follow


def new_lines(container: str, start: int, count: int, first: int) -> list[Line]:
    return [Line(container, start + i * 1000, f"live {first + i}", "info", service="live") for i in range(count)]


async def test_follow_shows_new_and_late_records_once_in_order(engine_settings: Settings, world: World) -> None:
    s = engine_settings
    start = now_ns()
    await write_lines(s, new_lines("live-1", start, 5, 0))
    follower = await Follower.start(s, "--container", "live-1", "--lines", "2", "--grace", "30", "--format", "ndjson")
    try:
        shown = await follower.until(2)
        assert [d["message"] for d in ndjson(shown)] == ["live 3", "live 4"]  # the last two, oldest first

        await write_lines(s, new_lines("live-1", start + 5 * NS, 3, 5))
        await follower.until(5)
        # late: older than the newest shown, within the grace window; and far too late
        await write_lines(s, [Line("live-1", start + 2 * NS, "late but in grace", service="live"),
                              Line("live-1", start - 120 * NS, "too late", service="live")])
        await follower.until(6)
        await write_lines(s, new_lines("live-1", start + 9 * NS, 2, 8))
        await follower.until(8)
    finally:
        code, out, err = await follower.stop()
    assert code == 0, err
    messages = [orjson.loads(x)["message"] for x in out.splitlines()]
    assert messages == ["live 3", "live 4", "live 5", "live 6", "live 7", "late but in grace", "live 8", "live 9"]


@pytest.mark.parametrize("fmt", FORMATS)
async def test_follow_in_every_format(engine_settings: Settings, world: World, fmt: str) -> None:
    s = engine_settings
    follower = await Follower.start(s, "--service", "api", "--lines", "3", "--format", fmt, "--max-seconds", "60")
    header = 1 if fmt in ("table", "csv") else 0
    first = world.ordered([x for x in world.lines if x.service == "api"])[-1]
    try:
        await follower.until(header + 3 if fmt != "json" else 0, text=first)
        await write_lines(s, [Line("api-9", now_ns(), "live api line", "warn", service="api")])
        await follower.until(header + 4 if fmt != "json" else 0, text="live api line")
    finally:
        code, out, err = await follower.stop()
    assert code == 0, err
    expected = [*world.ordered([x for x in world.lines if x.service == "api"])[-3:], "live api line"]
    if fmt == "json":
        assert [d["message"] for d in json.loads(out)] == expected
    elif fmt == "ndjson":
        assert [d["message"] for d in ndjson(out)] == expected
    elif fmt == "csv":
        rows = csv_rows(out)
        assert [r["message"] for r in rows] == expected and rows[-1]["log.level"] == "warn"
    else:
        lines = out.splitlines()
        assert lines[0].split()[0] == "@timestamp"
        assert [line.split("  ")[-1].strip() for line in lines[1:]] == expected
        assert "api-9" in lines[-1] and "warn" in lines[-1]


async def test_follow_since_shows_everything_since_then_and_stops_by_itself(
    engine_settings: Settings, world: World
) -> None:
    started = asyncio.get_running_loop().time()
    result = logfleet_cli(engine_settings, "audit", "follow", "--container", "worker-1", "--since", "2h",
                          "--max-seconds", "2", "--format", "ndjson", timeout=120)
    assert result.returncode == 0, result.stderr
    assert asyncio.get_running_loop().time() - started >= 2
    assert [d["message"] for d in ndjson(result.stdout)] == world.ordered(
        [x for x in world.recent() if x.container == "worker-1"]
    )


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "args",
    [["search"], ["follow", "--max-seconds", "1"], ["export", "-o", "-"], ["stats"], ["violations"]],
    ids=lambda a: a[0],
)
async def test_no_data_stream_yet_is_exit_code_6(engine_settings: Settings, args: list[str]) -> None:
    result = logfleet_cli(engine_settings, "audit", *args, "--namespace", "nothinghere", timeout=120)
    assert result.returncode == 6, result.stderr
    assert result.stderr.strip() == (
        "logfleet: no log data stream yet: nothing matches logs-*-nothinghere "
        "(is the pipeline running? is it another --namespace?)"
    )
