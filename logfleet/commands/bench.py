"""``logfleet bench``: benchmarks against a ceiling or peer measured in the same run, as JSON."""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
import orjson

from logfleet.commands.context import settings_from
from logfleet.core.errors import LogfleetError


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float)]
    return {k: statistics.median(run[k] for run in runs) for k in keys}


def _emit(result: dict[str, Any]) -> None:
    click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


@click.group("bench")
def bench_group() -> None:
    """Benchmarks on the local stack (`logfleet stack up` first); each prints JSON with its ratio to
    the ceiling measured in the same run. Results and commands are recorded in BENCHMARKS.md."""


@bench_group.command("shipper")
@click.option("--lines", default=1_000_000, show_default=True, type=click.IntRange(1000), help="Lines to write.")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1, 20), help="Runs; medians reported.")
@click.option("--containers", default=0, type=click.IntRange(0, 1000), help="Instead: RSS with N quiet containers.")
@click.option("--json", "as_json", is_flag=True, default=True, help="Print JSON (the only format).")
@click.option("--peer", type=click.Choice(["none", "rsyslog"]), default="none", show_default=True,
              help="Also run a peer on the same container: rsyslog imdocker -> omkafka "
                   "(needs scripts/build-rsyslog-imdocker.sh).")
@click.pass_context
def bench_shipper_command(ctx: click.Context, lines: int, runs: int, containers: int, as_json: bool, peer: str) -> None:
    """The shipper's lines/s from one busy container into Kafka (acknowledged) divided by the rate
    at which `docker logs -f` drains the same container; CPU seconds per million lines of the
    shipper and of dockerd; peak RSS; lines lost or duplicated in Kafka. With `--peer rsyslog`,
    rsyslog's figures on the same container follow, with the shipper's CPU and rate as ratios
    of rsyslog's."""
    from logfleet.devstack.bench.shipper import bench_many_containers, bench_shipper

    settings = settings_from(ctx)
    try:
        with tempfile.TemporaryDirectory(prefix="lfbench") as work:
            if containers:
                _emit(bench_many_containers(settings, containers, Path(work)))
                return
            chosen = None if peer == "none" else peer
            results = [bench_shipper(settings, lines, Path(work), chosen) for _ in range(runs)]
    except LogfleetError as exc:
        click.echo(f"logfleet: {exc}", err=True)
        sys.exit(exc.exit_code)
    _emit({"benchmark": "shipper", "runs": results, "median": _median_of(results)})


@bench_group.command("processor")
@click.option("--records", default=200_000, show_default=True, type=click.IntRange(1000), help="Lines in the mix.")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1, 20), help="Runs; medians reported.")
@click.pass_context
def bench_processor_command(ctx: click.Context, records: int, runs: int) -> None:
    """Events/s of one processor process from the raw topic to the events topic on a realistic mix
    (prescribed JSON, other JSON, nginx access, plain text with stack traces); CPU seconds per
    million; peak RSS. Timed from its first output to its last."""
    from logfleet.devstack.bench.pipeline import bench_processor

    _run_bench("processor", lambda work: bench_processor(settings_from(ctx), records, work), runs)


@bench_group.command("indexer")
@click.option("--docs", default=50_000, show_default=True, type=click.IntRange(1000), help="Documents.")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1, 20), help="Runs; medians reported.")
@click.pass_context
def bench_indexer_command(ctx: click.Context, docs: int, runs: int) -> None:
    """Docs/s from Kafka into Elasticsearch divided by the ceiling of the same server in the same
    run: the same documents sent as raw _bulk requests of the same size by a minimal loader."""
    from logfleet.devstack.bench.pipeline import bench_indexer

    _run_bench("indexer", lambda work: bench_indexer(settings_from(ctx), docs, work), runs)


@bench_group.command("idle")
@click.option("--rate", default=50.0, show_default=True, type=click.FloatRange(0.1),
              help="Raw records (one line each) per second in the trickle phase.")
@click.option("--seconds", default=30.0, show_default=True, type=click.FloatRange(5), help="Length of each phase.")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(1, 20), help="Runs; medians reported.")
@click.pass_context
def bench_idle_command(ctx: click.Context, rate: float, seconds: float, runs: int) -> None:
    """What a quiet host costs: the share of one core a processor and an indexer use with no input,
    then with a trickle of one-line records, measured after they joined their groups."""
    from logfleet.devstack.bench.idle import bench_idle

    _run_bench("idle", lambda work: bench_idle(settings_from(ctx), rate, seconds, work), runs)


@bench_group.command("soak")
@click.option("--containers", default=50, show_default=True, type=click.IntRange(1, 500), help="Writing containers.")
@click.option("--rate", default=5000, show_default=True, type=click.IntRange(1), help="Total lines/s written.")
@click.option("--duration", default=600, show_default=True, type=click.IntRange(1), help="Seconds of writing.")
@click.option("--drain-timeout", default=900, show_default=True, type=click.IntRange(1),
              help="Seconds to wait for the pipeline to drain after the writers; then report what arrived.")
@click.pass_context
def bench_soak_command(ctx: click.Context, containers: int, rate: int, duration: int, drain_timeout: int) -> None:
    """The whole pipeline (shipper, processor, indexer as separate processes) under a sustained
    load: end-to-end lag p50/p99 from probe lines (write to searchable), RSS of each part over
    time, and the final count of lines written against documents in Elasticsearch. Not run in CI."""
    from logfleet.devstack.bench.soak import bench_soak

    try:
        with tempfile.TemporaryDirectory(prefix="lfsoak") as work:
            result = bench_soak(settings_from(ctx), containers, rate, duration, Path(work), drain_timeout)
    except LogfleetError as exc:
        click.echo(f"logfleet: {exc}", err=True)
        sys.exit(exc.exit_code)
    _emit({"benchmark": "soak", **result})


def _run_bench(name: str, one_run: Any, runs: int) -> None:
    try:
        with tempfile.TemporaryDirectory(prefix="lfbench") as work:
            results = [one_run(Path(work)) for _ in range(runs)]
    except LogfleetError as exc:
        click.echo(f"logfleet: {exc}", err=True)
        sys.exit(exc.exit_code)
    _emit({"benchmark": name, "runs": results, "median": _median_of(results)})
