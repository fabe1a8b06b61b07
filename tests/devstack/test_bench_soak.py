"""``logfleet bench soak``: its pure parts (rate schedule, percentiles, RSS slope) as units, and one
short real run on the session's stack so the command cannot silently rot."""

from __future__ import annotations

import math

import orjson
import pytest

from logfleet.core.config import Settings
from logfleet.devstack.bench.soak import lines_per_tick, percentile, rss_summary, slope_per_minute
from tests.support import logfleet_cli


@pytest.mark.parametrize(
    ("rate", "containers", "tick_s", "want"),
    [
        (5000, 50, 0.5, [50] * 50),
        (200, 5, 0.5, [20] * 5),
        (1000, 3, 0.5, [167, 167, 166]),
        (10, 4, 0.5, [2, 1, 1, 1]),
        (1, 3, 0.5, [0, 0, 0]),  # rounds to no line per tick: the caller sees it in the schedule
    ],
)
def test_lines_per_tick_add_up_to_the_rate(rate: float, containers: int, tick_s: float, want: list[int]) -> None:
    schedule = lines_per_tick(rate, containers, tick_s)
    assert schedule == want
    assert len(schedule) == containers
    assert max(schedule) - min(schedule) <= 1


def test_lines_per_tick_total_is_the_rate_times_the_tick() -> None:
    for rate in (1, 7, 999, 5000, 12345):
        for containers in (1, 7, 50):
            assert sum(lines_per_tick(rate, containers, 0.5)) == round(rate * 0.5)


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(list(reversed(values)), 1) == 1
    assert percentile([3.0], 99) == 3.0
    assert percentile([0.5, 9.0], 50) == 0.5
    assert math.isnan(percentile([], 50))


def test_slope_per_minute() -> None:
    assert slope_per_minute([(0.0, 10.0), (30.0, 11.0), (60.0, 12.0)]) == pytest.approx(2.0)
    assert slope_per_minute([(t, 50.0) for t in range(0, 600, 5)]) == 0.0
    assert slope_per_minute([(0.0, 1.0)]) == 0.0
    assert slope_per_minute([(5.0, 1.0), (5.0, 3.0)]) == 0.0  # no time between samples


def test_rss_summary() -> None:
    samples = [(0.0, 40.0), (60.0, 55.0), (120.0, 50.0), (180.0, 50.0)]
    summary = rss_summary(samples)
    assert summary["start_mb"] == 40.0
    assert summary["max_mb"] == 55.0
    assert summary["end_mb"] == 50.0
    assert summary["slope_mb_per_min_second_half"] == 0.0
    assert summary["slope_mb_per_min"] == pytest.approx(2.5, abs=0.01)
    assert summary["samples"] == 4
    assert rss_summary([]) == {}


@pytest.mark.servers
def test_short_real_soak_counts_every_line(stack: Settings) -> None:
    result = logfleet_cli(stack, "bench", "soak", "--containers", "5", "--rate", "200", "--duration", "15",
                          timeout=300)
    assert result.returncode == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert report["benchmark"] == "soak"
    assert report["lines_written"] == 5 * 20 * 30 + 30  # 20 lines per 0.5 s tick each, plus a probe per tick
    assert report["lines_missing"] == 0
    assert report["docs_extra"] == 0
    assert report["docs_in_es"] == report["lines_written"]
    assert report["lag_s"]["probes"] == 30
    assert 0 < report["lag_s"]["p50"] <= report["lag_s"]["p99"] <= report["lag_s"]["max"]
    assert set(report["rss"]) == {"shipper", "processor", "indexer"}
    for part in report["rss"].values():
        assert part["samples"] >= 2
        assert 0 < part["start_mb"] <= part["max_mb"]
