"""``logfleet bench idle``: one short real run on the session's stack, so the command cannot rot."""

from __future__ import annotations

import orjson
import pytest

from logfleet.core.config import Settings
from tests.support import logfleet_cli

pytestmark = [pytest.mark.servers]


def test_short_idle_run_measures_both_parts_and_stores_the_trickle(stack: Settings) -> None:
    result = logfleet_cli(stack, "bench", "idle", "--runs", "1", "--seconds", "5", "--rate", "20", timeout=180)
    assert result.returncode == 0, result.stderr
    report = orjson.loads(result.stdout)
    run = report["runs"][0]
    assert report["benchmark"] == "idle" and report["median"] == run
    assert 0 < run["trickle_lines"] <= 101  # 20 a second for 5 s (fewer if sends are slow)
    assert run["trickle_lines_stored"] == run["trickle_lines"]
    for part in ("processor", "indexer"):
        for phase in ("idle", "trickle"):
            assert 0.0 <= run[f"{part}_{phase}_cpu_share"] < 2.0  # a share of one core; 2 cores here
