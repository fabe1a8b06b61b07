"""The broker stopped for 20 s mid-stream: the shipper pauses (Docker's log files are the buffer),
resumes when Kafka is back, loses nothing, and its memory stays bounded meanwhile."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
from pathlib import Path

import pytest

from logfleet.core.config import Settings
from logfleet.core.model import decode_raw
from logfleet.devstack.bench.procstat import rss_mb
from tests.support import kafka_service, raw_line_numbers, read_topic, spawn_cli, start_container, wait_for

pytestmark = [pytest.mark.servers]
LINES = 100_000
# 50 chunks of 2,000 numbered lines, 200 ms apart: about 10 s of writing, across the outage.
SLOW_BURST = r"""
j=0
while [ $j -lt 50 ]; do
  awk -v j=$j 'BEGIN { for (i = 1; i <= 2000; i++) printf "line %d written while kafka may be down\n", j*2000+i }'
  usleep 200000
  j=$((j+1))
done
"""


@pytest.mark.timeout(400)
async def test_kafka_stopped_for_20s_mid_stream_loses_nothing_and_memory_stays_bounded(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    settings = pipeline_settings
    shipper = spawn_cli(settings, "shipper", "run", log_path=tmp_path / "shipper.log")
    peak = 0.0
    try:
        await asyncio.sleep(1.5)
        container = start_container(settings, SLOW_BURST)
        await asyncio.sleep(2.0)
        kafka_service("stop")
        try:
            for _ in range(20):
                await asyncio.sleep(1.0)
                peak = max(peak, rss_mb(shipper.pid))
        finally:
            kafka_service("start")
        await asyncio.to_thread(container.wait, timeout=120)

        async def complete() -> collections.Counter[int]:
            numbers = await raw_line_numbers(settings)
            return numbers if len(numbers) >= LINES else collections.Counter()

        numbers = await wait_for(complete, within=180, interval=2)
        peak = max(peak, rss_mb(shipper.pid, peak=True))
    finally:
        shipper.send_signal(signal.SIGTERM)
        await asyncio.to_thread(shipper.wait, 30)
    assert set(numbers) == set(range(1, LINES + 1)), (tmp_path / "shipper.log").read_text()[-3000:]
    assert peak < 150, f"shipper RSS reached {peak:.0f} MB during the outage"
    print(f"\nkafka outage: peak RSS {peak:.1f} MB, sent again {sum(numbers.values()) - LINES}")


# 40 chunks of 500 numbered lines, 100 ms apart (about 4 s); a restart policy starts it again
# after the Docker daemon comes back, and it writes its lines once more.
RESTARTING = r"""
j=0
while [ $j -lt 40 ]; do
  awk -v j=$j 'BEGIN { for (i = 1; i <= 500; i++) printf "line %d across a daemon restart\n", j*500+i }'
  usleep 100000
  j=$((j+1))
done
sleep 3600
"""


@pytest.mark.timeout(400)
async def test_restarting_dockerd_mid_stream_loses_nothing(pipeline_settings: Settings, tmp_path: Path) -> None:
    from tests.support import docker_client, restart_private_dockerd

    settings = pipeline_settings
    shipper = spawn_cli(settings, "shipper", "run", log_path=tmp_path / "shipper.log")
    try:
        await asyncio.sleep(1.5)
        container = start_container(settings, RESTARTING, restart_policy={"Name": "always"})
        await asyncio.sleep(2.0)
        if not await asyncio.to_thread(restart_private_dockerd):
            pytest.skip("the session uses a Docker Engine it did not start; it will not restart it")
        await asyncio.sleep(8.0)  # the container runs again and writes its lines once more

        def truth() -> int:
            logs = docker_client(settings).containers.get(container.id).logs(stdout=True, stderr=True)
            return int(logs.count(b"\n"))

        written = await asyncio.to_thread(truth)

        async def shipped() -> int:
            keys = set()
            for record in await read_topic(settings, settings.topic_raw):
                for line in decode_raw(record.value)["lines"]:
                    keys.add((line[0], line[1]))
            return len(keys) if len(keys) >= written else 0

        arrived = await wait_for(shipped, within=120, interval=2)
    finally:
        shipper.send_signal(signal.SIGTERM)
        await asyncio.to_thread(shipper.wait, 30)
        with contextlib.suppress(Exception):
            docker_client(settings).containers.get(container.id).remove(force=True)
    assert written > 20_000, "the container did not write again after the restart"
    assert arrived == written, (tmp_path / "shipper.log").read_text()[-3000:]
    print(f"\ndockerd restart: lines written={written} distinct lines in Kafka={arrived}")
