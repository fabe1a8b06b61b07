"""``logfleet bench soak``: the whole pipeline under a sustained load, its lag, memory and final count.

N busybox containers write at a total rate R for D seconds (lines of about 150 bytes, the same shape
as the shipper benchmark), each line carrying its write time as Docker's own timestamp (``@timestamp``
of its document). The shipper, the processor and the indexer run as separate ``logfleet ... run``
processes against the stack in the environment, on fresh topics, groups and namespace. One more
container writes a probe line every 0.5 s; the bench polls Elasticsearch for the probes and takes,
for each, the time it became searchable minus its Docker timestamp: that is the end-to-end lag, whose
p50 and p99 are reported (probes are polled every 0.1 s by a task of their own, so the poll interval
and one search's round trip bound the error; the lag is never understated). The resident memory of each process is
sampled every few seconds (start, max, end and least-squares slope). When the writers are done the
bench waits for the pipeline to drain and counts, per container, lines written against documents in
Elasticsearch; the indexer's 409s count what was sent twice and caught by the deterministic ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import docker

from logfleet.clients import kafka, search
from logfleet.core.config import Settings
from logfleet.core.errors import LogfleetError, Unreachable
from logfleet.core.model import parse_docker_ts
from logfleet.devstack.bench.pipeline import isolated
from logfleet.devstack.bench.procstat import cpu_seconds, daemon_env, rss_mb, scrape
from logfleet.devstack.busybox_image import IMAGE
from logfleet.devstack.ports import free_port
from logfleet.ops import provision

PARTS = ("shipper", "processor", "indexer")
DATASET = "soak"
PROBE_DATASET = "soakprobe"  # a small index of its own: the stand-in scans an index for every query
COUNT_EVERY_S = 2.0
TICK_S = 0.5
POLL_S = 0.25  # the watch loop: RSS, the writers' state, the drain count
PROBE_POLL_S = 0.1  # probes are asked for on their own, so a probe's lag is overstated by at most this
RSS_EVERY_S = 5.0
STALL_S = 120.0  # drain ends when the count has not moved for this long
STAGES = {  # what each part had done when the writers finished: where a backlog sits
    "shipper_lines_acked": ("shipper", "logfleet_shipper_lines_acked_total"),
    "processor_events_out": ("processor", "logfleet_processor_events_out_total"),
    "indexer_docs_created": ("indexer", "logfleet_indexer_created_total"),
}
PAD = "x" * 100

# A writer: wait for the common start (host uptime in centiseconds), then every tick print its lines
# with one awk, and sleep until the next tick of a fixed schedule (so slow ticks do not add up).
WRITER = r"""
read u _ < /proc/uptime; now=${{u%.*}}${{u#*.}}
while [ $now -lt {go_cs} ]; do usleep 20000; read u _ < /proc/uptime; now=${{u%.*}}${{u#*.}}; done
t=0
while [ $t -lt {ticks} ]; do
  {body}
  t=$((t+1))
  read u _ < /proc/uptime; now=${{u%.*}}${{u#*.}}
  d=$(( {go_cs} + t*{tick_cs} - now ))
  [ $d -gt 0 ] && usleep $((d*10000))
done
"""
LINES_BODY = (
    "awk -v t=$t 'BEGIN {{ for (j = 0; j < {n}; j++) "
    "printf \"%09d level=info msg=\\\"soak line\\\" c={c} pad={pad}\\n\", t*{n}+j }}'"
)
PROBE_BODY = "echo \"probe $t\""


def lines_per_tick(rate: float, containers: int, tick_s: float = TICK_S) -> list[int]:
    """Lines each container writes per tick so that all of them together write ``rate`` lines/s
    (rounded to whole lines per tick; the remainder goes one line each to the first containers)."""
    total = round(rate * tick_s)
    base, extra = divmod(total, containers)
    return [base + (1 if i < extra else 0) for i in range(containers)]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def slope_per_minute(samples: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, value)`` samples, per minute (0 for fewer than two)."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread


def rss_summary(samples: Sequence[tuple[float, float]]) -> dict[str, float]:
    """Start, max and end RSS (MB) of one process and its slope in MB per minute."""
    if not samples:
        return {}
    values = [v for _, v in samples]
    return {
        "start_mb": round(values[0], 1),
        "max_mb": round(max(values), 1),
        "end_mb": round(values[-1], 1),
        "slope_mb_per_min": round(slope_per_minute(samples), 3),
        "slope_mb_per_min_second_half": round(slope_per_minute(samples[len(samples) // 2 :]), 3),
        "samples": len(samples),
    }


def _uptime_cs() -> int:
    with open("/proc/uptime") as fh:
        return round(float(fh.read().split()[0]) * 100)


@dataclasses.dataclass
class _Run:
    """What one soak run has in hand while it runs."""

    settings: Settings
    tag: str
    work_dir: Path
    ticks: int
    per_tick: list[int]
    procs: dict[str, subprocess.Popen[bytes]] = dataclasses.field(default_factory=dict)
    ports: dict[str, int] = dataclasses.field(default_factory=dict)
    rss: dict[str, list[tuple[float, float]]] = dataclasses.field(default_factory=dict)
    probe_seen: dict[str, float] = dataclasses.field(default_factory=dict)  # probe message -> lag s
    last_probe: str = ""  # the @timestamp of the latest probe seen
    at_writers_end: dict[str, float] = dataclasses.field(default_factory=dict)

    def name(self, index: int | str) -> str:
        """The container name of writer ``index`` (or of the probe)."""
        return f"soak-{self.tag}-{index}"


@contextlib.contextmanager
def _daemons(run: _Run) -> Iterator[None]:
    """Start the three parts as ``logfleet PART run`` processes; SIGTERM them after the block."""
    try:
        for part in PARTS:
            port = run.ports[part] = free_port()
            log = open(run.work_dir / f"{run.tag}-{part}.log", "ab")  # noqa: SIM115 (kept open for the child)
            run.procs[part] = subprocess.Popen(
                [sys.executable, "-m", "logfleet", part, "run"], env=daemon_env(run.settings, port),
                stdout=log, stderr=subprocess.STDOUT,
            )
            log.close()
        yield
    finally:
        for proc in run.procs.values():
            proc.terminate()
        for proc in run.procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _start_containers(client: Any, run: _Run, go_cs: int) -> list[Any]:
    tick_cs = round(TICK_S * 100)
    probe = WRITER.format(go_cs=go_cs, ticks=run.ticks, tick_cs=tick_cs, body=PROBE_BODY)
    scripts = [(run.name("probe"), probe, PROBE_DATASET)]
    for i, n in enumerate(run.per_tick):
        body = LINES_BODY.format(n=n, c=i, pad=PAD)
        scripts.append((run.name(i), WRITER.format(go_cs=go_cs, ticks=run.ticks, tick_cs=tick_cs, body=body), DATASET))
    started = []
    for name, script, dataset in scripts:
        labels = {"logfleet.bench": run.tag, "logfleet.dataset": dataset}
        started.append(client.containers.run(IMAGE, ["sh", "-c", script], name=name, detach=True, init=True,
                                             labels=labels))
    return started


async def _poll_probes(client: Any, run: _Run) -> None:
    """Record the lag of every probe line that became searchable since the last poll (probes come
    from one container, so they arrive in order: only those from the last one seen on are asked for)."""
    query: dict[str, Any] = {"term": {"container.name": run.name("probe")}}
    if run.last_probe:
        query = {"bool": {"filter": [query, {"range": {"@timestamp": {"gte": run.last_probe}}}]}}
    answer = await client.search(
        f"logs-{PROBE_DATASET}-{run.settings.namespace}", size=500, query=query, sort=[{"@timestamp": "asc"}],
        source=["@timestamp", "message"],
    )
    found_at = time.time()
    for hit in answer["hits"]["hits"]:
        message, stamp = str(hit["_source"]["message"]), str(hit["_source"]["@timestamp"])
        if message not in run.probe_seen:
            run.probe_seen[message] = found_at - parse_docker_ts(stamp.encode()) / 1e9
            run.last_probe = max(run.last_probe, stamp)


def _sample_rss(run: _Run, since: float) -> None:
    for part, proc in run.procs.items():
        if proc.poll() is None:
            run.rss.setdefault(part, []).append((time.monotonic() - since, rss_mb(proc.pid)))


async def _count(client: Any, index: str, name: str = "") -> int:
    query = {"term": {"container.name": name}} if name else {"match_all": {}}
    return int(await client.count(index, query))


async def _watch(
    run: _Run, containers: list[Any], index: str, expected: int, start: float, duration_s: float, max_drain_s: float
) -> dict[str, float]:
    """Poll probes and RSS while the writers write, then wait for the drain; returns timings."""
    async with search.connect(run.settings) as client:
        probing = asyncio.create_task(_probe_loop(client, run))
        try:
            return await _watch_loop(client, run, containers, index, expected, start, duration_s, max_drain_s)
        finally:
            probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probing


async def _probe_loop(client: Any, run: _Run) -> None:
    """Poll the probes every PROBE_POLL_S until cancelled."""
    while True:
        with contextlib.suppress(Unreachable):  # a loaded stand-in can take over a minute to answer
            await _poll_probes(client, run)
        await asyncio.sleep(PROBE_POLL_S)


async def _watch_loop(
    client: Any, run: _Run, containers: list[Any], index: str, expected: int, start: float, duration_s: float,
    max_drain_s: float,
) -> dict[str, float]:
    """Sample RSS, notice the writers' end, then wait for the drain; returns timings."""
    next_rss = next_status = next_count = 0.0
    writing_s = drain_s = 0.0
    writers_done = False
    last_count, last_change = -1, time.monotonic()
    while True:
        now = time.monotonic()
        if now >= next_rss:
            _sample_rss(run, start)
            next_rss = now + RSS_EVERY_S
        dead = [part for part, proc in run.procs.items() if proc.poll() is not None]
        if dead:
            tail = (run.work_dir / f"{run.tag}-{dead[0]}.log").read_text(errors="replace")[-2000:]
            raise LogfleetError(f"{', '.join(dead)} exited during the soak; {dead[0]} said:\n{tail}")
        if not writers_done and now - start >= duration_s and now >= next_status:
            next_status = now + 2.0
            states = await asyncio.to_thread(lambda: [_status(c) for c in containers])
            if all(state == "exited" for state in states):
                writers_done, writing_s = True, now - start
                last_change = now
                run.at_writers_end = {key: scrape(run.ports[part], name) for key, (part, name) in STAGES.items()}
        elif writers_done and now >= next_count:
            next_count = now + COUNT_EVERY_S
            count = last_count
            with contextlib.suppress(Unreachable):
                count = await _count(client, index)
            if count != last_count:
                last_count, last_change = count, now
            if count >= expected or now - last_change > STALL_S or now - start - writing_s > max_drain_s:
                drain_s = now - start - writing_s
                break
        await asyncio.sleep(POLL_S)
    await asyncio.sleep(2 * run.settings.bulk_interval_s)  # a late duplicate would land by now
    return {"writing_s": writing_s, "drain_s": drain_s}


def _status(container: Any) -> str:
    container.reload()
    return str(container.status)


async def _final_counts(run: _Run, index: str) -> dict[str, Any]:
    async with search.connect(run.settings, request_timeout=600) as client:
        answer = await client.search(  # one pass over the index (the stand-in scans it for every query)
            index, size=0, aggs={"per": {"terms": {"field": "container.name", "size": len(run.per_tick) + 10}}},
        )
        found = {str(b["key"]): int(b["doc_count"]) for b in answer["aggregations"]["per"]["buckets"]}
        per_container = [found.get(run.name(i), 0) for i in range(len(run.per_tick))]
        probes = await _count(client, f"logs-{PROBE_DATASET}-{run.settings.namespace}")
        dead_letters = await _count(client, f"logs-logfleet.deadletter-{run.settings.namespace}")
    return {"per_container": per_container, "probes": probes, "dead_letters": dead_letters}


async def _drop(settings: Settings) -> None:
    async with search.connect(settings) as client:
        for dataset in (DATASET, PROBE_DATASET, "logfleet.deadletter"):
            await client.drop_streams(f"logs-{dataset}-{settings.namespace}")


def bench_soak(
    settings: Settings, containers: int, rate: float, duration_s: float, work_dir: Path, max_drain_s: float = 900
) -> dict[str, Any]:
    """One soak run; returns lag percentiles, RSS per part, throughput and the final count check.
    The drain after the writers is given up after ``max_drain_s`` (``drained`` is then false)."""
    base = isolated(settings, work_dir)
    tag = base.namespace.removeprefix("bench")
    run = _Run(
        settings=dataclasses.replace(base, include=f"label:logfleet.bench={tag}"),
        tag=tag,
        work_dir=work_dir,
        ticks=max(1, round(duration_s / TICK_S)),
        per_tick=lines_per_tick(rate, containers),
    )
    asyncio.run(kafka.ensure_topics(run.settings))
    asyncio.run(provision.setup_elasticsearch(run.settings))
    index = f"logs-{DATASET}-{run.settings.namespace}"
    written = [n * run.ticks for n in run.per_tick]
    expected = sum(written) + run.ticks
    client = docker.DockerClient(base_url=run.settings.docker_host)
    started: list[Any] = []
    try:
        with _daemons(run):
            go_cs = _uptime_cs() + 1000 + 50 * (containers + 1)  # 10 s, plus time to start every container
            started = _start_containers(client, run, go_cs)
            time.sleep(max(0.0, (go_cs - _uptime_cs()) / 100))
            start = time.monotonic()
            cpu0 = {part: cpu_seconds(proc.pid) for part, proc in run.procs.items()}
            timings = asyncio.run(_watch(run, started, index, sum(written), start, duration_s, max_drain_s))
            cpu = {part: round(cpu_seconds(proc.pid) - cpu0[part], 1) for part, proc in run.procs.items()}
            duplicates = scrape(run.ports["indexer"], "logfleet_indexer_duplicates_total")
            lines_acked = scrape(run.ports["shipper"], "logfleet_shipper_lines_acked_total")
        counts = asyncio.run(_final_counts(run, index))
    finally:
        for container in started:
            container.remove(force=True)
        client.close()
        asyncio.run(_drop(run.settings))
    lags = list(run.probe_seen.values())
    docs = sum(counts["per_container"]) + counts["probes"]
    missing = sum(max(0, w - d) for w, d in zip(written, counts["per_container"], strict=True))
    missing += max(0, run.ticks - counts["probes"])
    return {
        "containers": containers,
        "target_lines_per_s": rate,
        "duration_s": duration_s,
        "lines_written": expected,
        "achieved_lines_per_s": round(expected / timings["writing_s"]) if timings["writing_s"] else 0,
        "writing_s": round(timings["writing_s"], 1),
        "drain_after_writers_s": round(timings["drain_s"], 1),
        "drained": missing == 0,
        "when_writers_finished": run.at_writers_end,
        "lag_s": {
            "probes": len(lags),
            "p50": round(percentile(lags, 50), 3),
            "p99": round(percentile(lags, 99), 3),
            "max": round(max(lags), 3) if lags else math.nan,
            "poll_interval_s": PROBE_POLL_S,
            "target_p99": 2.0,
        },
        "rss": {part: rss_summary(samples) for part, samples in run.rss.items()},
        "cpu_s": cpu,
        "shipper_lines_acked": lines_acked,
        "docs_in_es": docs,
        "lines_missing": missing,
        "docs_extra": docs - expected + missing,
        "resent_caught_as_409": duplicates,
        "dead_letters": counts["dead_letters"],
    }
