"""What the shipper collects from real containers, counted in the raw topic (issue 3's reports:
short-lived containers, last lines, 16 KiB splits, TTY, streams, metrics, graceful stop)."""

from __future__ import annotations

import asyncio
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from logfleet.core.config import Settings
from logfleet.core.model import decode_raw
from logfleet.devstack.ports import free_port
from shipper.daemon import Shipper
from tests.support import raw_lines, read_topic, running, spawn_cli, start_container, wait_for

pytestmark = [pytest.mark.servers]


async def _wait_lines(settings: Settings, container_id: str, want: int) -> list[list[Any]]:
    async def enough() -> list[list[Any]]:
        lines = await raw_lines(settings, container_id)
        return lines if len(lines) >= want else []

    return list(await wait_for(enough, within=60) or await raw_lines(settings, container_id))


async def test_a_container_living_under_100ms_is_collected_while_shipping(pipeline_settings: Settings) -> None:
    settings = pipeline_settings
    async with running(Shipper(settings)):
        await asyncio.sleep(1.0)  # the shipper is up and listening to events
        container = start_container(settings, "echo one; echo two >&2; echo three")
        container.wait(timeout=30)
        lines = await _wait_lines(settings, container.id, 3)
    assert sorted((line[2], line[3]) for line in lines) == [("stderr", "two"), ("stdout", "one"), ("stdout", "three")]


async def test_a_container_that_lived_and_exited_while_the_shipper_was_down_is_collected(
    pipeline_settings: Settings,
) -> None:
    settings = pipeline_settings
    container = start_container(settings, "echo one; echo two; echo three")
    container.wait(timeout=30)
    async with running(Shipper(settings)):
        lines = await _wait_lines(settings, container.id, 3)
    assert [line[3] for line in lines] == ["one", "two", "three"]

    # A second run does not ship it again: its end was recorded.
    async with running(Shipper(settings)):
        await asyncio.sleep(2.0)
    assert len(await raw_lines(settings, container.id)) == 3


async def test_a_100_kib_line_arrives_as_one_line_and_streams_keep_their_names(pipeline_settings: Settings) -> None:
    settings = pipeline_settings
    script = (
        "awk 'BEGIN { s = \"\"; for (i = 0; i < 102400; i++) s = s \"x\";"
        " print s; print \"err\" > \"/dev/stderr\" }'"
    )
    container = start_container(settings, script)
    container.wait(timeout=30)
    async with running(Shipper(settings)):
        lines = await _wait_lines(settings, container.id, 2)
    by_stream = {line[2]: line for line in lines}
    assert len(lines) == 2
    assert by_stream["stdout"][3] == "x" * 102400 and by_stream["stdout"][4] == []
    assert by_stream["stderr"][3] == "err"


async def test_tty_containers_are_read_as_raw_streams(pipeline_settings: Settings) -> None:
    settings = pipeline_settings
    container = start_container(settings, "echo first; echo second", tty=True)
    container.wait(timeout=30)
    async with running(Shipper(settings)):
        lines = await _wait_lines(settings, container.id, 2)
    assert [(line[2], line[3]) for line in lines] == [("stdout", "first"), ("stdout", "second")]


async def test_the_last_lines_before_a_busy_container_exits_are_not_lost(pipeline_settings: Settings) -> None:
    # Docker ends a follow stream soon after the container exits and drops what was unread.
    settings = pipeline_settings
    async with running(Shipper(settings)):
        await asyncio.sleep(1.0)
        container = start_container(settings, "seq 1 50000; echo last-line")
        container.wait(timeout=60)
        lines = await _wait_lines(settings, container.id, 50001)
    assert len(lines) == 50001 and lines[-1][3] == "last-line"


async def test_sigterm_stops_within_seconds_with_checkpoints_written_and_metrics_served(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    settings = pipeline_settings
    port = free_port()
    container = start_container(settings, "seq 1 1000; sleep 30")
    shipper = spawn_cli(settings, "shipper", "run", log_path=tmp_path / "shipper.log", LOGFLEET_METRICS_PORT=str(port))
    try:
        await _wait_lines(settings, container.id, 1000)

        def scrape(path: str) -> tuple[int, str]:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()

        status, text = await asyncio.to_thread(scrape, "/metrics")
        assert status == 200
        assert "logfleet_shipper_lines_acked_total 1000" in text
        assert "logfleet_shipper_containers_followed 1" in text
        assert container.id not in text  # no per-container labels
        assert (await asyncio.to_thread(scrape, "/healthz"))[0] == 200
    finally:
        started = asyncio.get_running_loop().time()
        shipper.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(shipper.wait, 20)
        container.kill()
    assert code == 0
    assert asyncio.get_running_loop().time() - started < 5
    checkpoint = (Path(settings.state_dir) / "shipper-checkpoints.json").read_text()
    assert container.id in checkpoint


_BESIDE = Path(__file__).resolve().parents[3] / "shared" / "corpora"
CASES = (_BESIDE if _BESIDE.is_dir() else Path("/work/shared/corpora")) / "fluent-bit" / "derived_multiline_cases.json"


@pytest.mark.skipif(not CASES.exists(), reason="shared corpora not beside the repository")
async def test_java_and_python_traces_from_the_corpora_arrive_as_one_record_each(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    import json

    settings = pipeline_settings
    cases = json.loads(CASES.read_text())["cases"]
    text = "".join(cases["java"]["input_lines"] + cases["python"]["input_lines"])
    (tmp_path / "traces.txt").write_text(text)
    container = start_container(
        settings, "cat /data/traces.txt >&2", volumes={str(tmp_path): {"bind": "/data", "mode": "ro"}}
    )
    container.wait(timeout=30)
    expected = [r.rstrip("\n") for r in cases["java"]["expected_records"] + cases["python"]["expected_records"]]
    async with running(Shipper(settings)):
        lines = await _wait_lines(settings, container.id, len(expected))
    assert [line[3] for line in lines] == expected
    assert all(line[2] == "stderr" for line in lines)


async def test_a_steady_writer_is_shipped_within_the_flush_interval_not_when_its_batch_is_full(
    pipeline_settings: Settings,
) -> None:
    # A line every 50 ms never leaves the stream idle for flush_interval_s (0.2 s): each batch must
    # still go once its oldest line has waited that long, not when 1,000 lines fill it (50 s here).
    settings = pipeline_settings
    script = "i=0; while [ $i -lt 120 ]; do echo line $i; usleep 50000; i=$((i+1)); done"
    async with running(Shipper(settings)):
        await asyncio.sleep(1.0)
        container = start_container(settings, script)
        await asyncio.to_thread(container.wait, timeout=60)  # the shipper runs in this loop meanwhile
        await _wait_lines(settings, container.id, 120)
    ages, lines = [], 0
    for record in await read_topic(settings, settings.topic_raw):
        raw = decode_raw(record.value)
        if raw["container"]["id"] == container.id:
            ages.append(record.timestamp / 1e3 - raw["lines"][0][0] / 1e9)  # sent (CreateTime) - its first line
            lines += len(raw["lines"])
    assert lines == 120
    assert len(ages) >= 10, f"{len(ages)} records for 6 s of lines"
    assert max(ages) < 2.0, f"a batch waited {max(ages):.1f} s"
