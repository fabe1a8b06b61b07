"""The rsyslog peer of ``logfleet bench shipper --peer rsyslog``: Debian's rsyslogd reading the same
container through ``imdocker`` (built by ``scripts/build-rsyslog-imdocker.sh``, since Debian builds
rsyslog without it) and writing each line as one record through ``omkafka`` to the same broker, into
a topic of its own. rsyslogd runs in the foreground with a private configuration and work directory
(no pid file, no system inputs); the benchmark waits until the topic holds every line or no record
arrived for a while (rsyslog is known to lose lines), then reads the CPU time and peak RSS of
rsyslogd and the CPU dockerd spent serving it, and counts the lines that arrived in Kafka.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from logfleet.clients import kafka
from logfleet.core import security
from logfleet.core.config import Settings
from logfleet.core.errors import ConfigError, DeliveryError, StackError
from logfleet.devstack.bench.procstat import cpu_seconds, rss_mb

RSYSLOGD = "/usr/sbin/rsyslogd"
BUILD_SCRIPT = "scripts/build-rsyslog-imdocker.sh"
PEERS_DIR = "/var/tmp/logfleet-peers"
STALL_S = 20.0  # no new record for this long: rsyslog has sent all it will send
DEADLINE_S = 900.0
TOPIC_PREFIX = "bench-rsyslog-"  # + the bench container's label value


def _rsyslog_version() -> str | None:
    try:
        answer = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "rsyslog"], capture_output=True, text=True,
                                check=False)
    except OSError:
        return None
    if answer.returncode != 0:
        return None
    return answer.stdout.strip() or None


def locate_imdocker() -> Path:
    """The imdocker module built for the installed rsyslog (``LOGFLEET_IMDOCKER`` overrides the
    path); a clear :class:`StackError` naming the build script when it or rsyslogd is missing."""
    hint = f"build it with `bash {BUILD_SCRIPT}` (installs rsyslog and rsyslog-kafka from Debian)"
    if explicit := os.environ.get("LOGFLEET_IMDOCKER"):
        module = Path(explicit)
    else:
        version = _rsyslog_version()
        if version is None or not os.access(RSYSLOGD, os.X_OK):
            raise StackError(f"--peer rsyslog needs Debian's rsyslog and rsyslog's imdocker module: {hint}")
        module = Path(os.environ.get("LOGFLEET_PEERS_DIR", PEERS_DIR)) / f"rsyslog-{version}" / "imdocker.so"
    if not module.is_file():
        raise StackError(f"rsyslog's imdocker module is not built ({module} is missing): {hint}")
    return module


def _docker_address(docker_host: str) -> str:
    if docker_host.startswith("unix://"):
        return f'dockerApiUnixSockAddr="{docker_host.removeprefix("unix://")}"'
    if docker_host.startswith("tcp://"):
        return f'dockerApiAddr="http://{docker_host.removeprefix("tcp://")}"'
    raise ConfigError(f"imdocker cannot reach the Docker daemon at {docker_host!r} (unix:// or tcp:// only)")


def render_config(*, imdocker: Path, docker_host: str, label: str, broker: str, topic: str, work_dir: Path,
                  compression: str = "zstd") -> str:
    """An rsyslog configuration: imdocker reads (from their start) the logs of the containers that
    carry ``label`` (``KEY=VALUE``), omkafka sends each line as one record to ``topic``;
    rsyslogd's own messages go to a file in ``work_dir``, never to Kafka."""
    filters = urllib.parse.quote(orjson.dumps({"label": [label]}).decode(), safe="")
    brokers = ", ".join(f'"{b.strip()}"' for b in broker.split(",") if b.strip())
    codec = "none" if compression == "none" else compression
    return f"""# written by logfleet bench shipper --peer rsyslog
global(workDirectory="{work_dir}" processInternalMessages="on")
main_queue(queue.type="LinkedList" queue.size="200000" queue.dequeueBatchSize="1024" queue.workerThreads="1")

module(load="{imdocker}"
       {_docker_address(docker_host)}
       listContainersOptions="all=1&filters={filters}"
       getContainerLogOptions="timestamps=0&follow=1&stdout=1&stderr=1"
       retrieveNewLogsFromStart="on"
       pollingInterval="3600")
module(load="omkafka")

template(name="logfleet_line" type="string" string="%msg%")

if $inputname == "imdocker" then {{
    action(type="omkafka" broker=[{brokers}] topic="{topic}" template="logfleet_line" partitions.auto="on"
           confParam=["compression.codec={codec}", "enable.idempotence=true", "queue.buffering.max.ms=5"]
           topicConfParam=["request.required.acks=-1"]
           errorFile="{work_dir}/omkafka-errors.json" resubmitOnFailure="on" keepFailedMessages="off"
           action.resumeRetryCount="-1")
    stop
}}
action(type="omfile" file="{work_dir}/rsyslogd.log")
"""


async def _count_lines(settings: Settings, topic: str, seen_records: int) -> dict[str, int]:
    """Lines in the topic by their number (the first 9 characters); a record that does not start
    with one is counted as garbled. Reads again (a few times) while fewer records than the end
    offsets showed come back."""
    values: list[bytes] = []
    for _ in range(5):
        values = [record.value for record in await kafka.read_all(settings, topic)]
        if len(values) >= seen_records:
            break
        await asyncio.sleep(2)
    seen: set[int] = set()
    garbled = 0
    for value in values:
        try:
            seen.add(int(value[:9]))
        except ValueError:
            garbled += 1
    return {"unique": len(seen), "total": len(values), "garbled": garbled}


async def _wait_for_lines(
    settings: Settings, topic: str, lines: int, proc: subprocess.Popen[bytes]
) -> tuple[int, float]:
    """Poll the topic's record count until it holds ``lines`` or stops growing; returns the count
    and the seconds from the start until the last growth seen."""
    start = time.perf_counter()
    # The partitions come from the admin client: a consumer's topics() does not update the metadata
    # that partitions_for_topic reads, so on a real broker that stayed empty and nothing was counted.
    try:
        async with kafka.admin(settings, "logfleet-bench") as meta:
            state = (await kafka.describe(meta, [topic])).get(topic)
    except KafkaError as exc:
        raise DeliveryError(f"describing {topic} failed: {exc}") from exc
    if state is None:
        raise DeliveryError(f"rsyslog's topic {topic} does not exist")
    partitions = [TopicPartition(topic, p) for p in range(state.partitions)]
    client = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                              **security.kafka_options(settings))
    count, last_growth = 0, start
    try:
        await client.start()
        while count < lines and proc.poll() is None:
            now = time.perf_counter()
            if now - last_growth > STALL_S or now - start > DEADLINE_S:
                break
            await asyncio.sleep(0.25)
            current = sum((await client.end_offsets(partitions)).values())
            if current > count:
                count, last_growth = current, time.perf_counter()
    except KafkaError as exc:
        raise DeliveryError(f"reading the end offsets of {topic} failed: {exc}") from exc
    finally:
        await client.stop()
    return count, last_growth - start


def run_rsyslog(settings: Settings, label: str, lines: int, dockerd: int, work_dir: Path) -> dict[str, Any]:
    """rsyslogd (imdocker -> omkafka) reads the container labelled ``label`` into a topic of its
    own; returns its figures, prefixed ``rsyslog_``, and the lines it lost or sent twice."""
    imdocker = locate_imdocker()
    topic = TOPIC_PREFIX + label.rsplit("=", 1)[-1]
    asyncio.run(kafka.ensure_topics(dataclasses.replace(settings, topic_raw=topic)))
    work_dir.mkdir(parents=True, exist_ok=True)
    config = work_dir / "rsyslog.conf"
    config.write_text(render_config(imdocker=imdocker, docker_host=settings.docker_host, label=label,
                                    broker=settings.kafka_bootstrap, topic=topic, work_dir=work_dir,
                                    compression=settings.compression))
    check = subprocess.run([RSYSLOGD, "-N1", "-f", str(config)], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise StackError(f"rsyslogd rejects the benchmark's configuration {config}: {check.stderr.strip()[-500:]}")
    cpu0 = cpu_seconds(dockerd)
    with open(work_dir / "rsyslogd.stderr", "wb") as stderr:
        proc = subprocess.Popen([RSYSLOGD, "-n", "-iNONE", "-f", str(config)], stdout=subprocess.DEVNULL,
                                stderr=stderr)
    try:
        arrived, seconds = asyncio.run(_wait_for_lines(settings, topic, lines, proc))
        if proc.poll() is not None:
            raise StackError(f"rsyslogd exited with {proc.returncode}: see {work_dir}/rsyslogd.stderr")
        figures = {"cpu_s": cpu_seconds(proc.pid), "peak_rss_mb": rss_mb(proc.pid, peak=True)}
        dockerd_cpu = cpu_seconds(dockerd) - cpu0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    counted = asyncio.run(_count_lines(settings, topic, arrived))
    millions = lines / 1e6
    return {
        "rsyslog_lines_per_s": round(arrived / seconds) if seconds > 0 else 0,
        "rsyslog_cpu_s_per_million": round(figures["cpu_s"] / millions, 2),
        "dockerd_cpu_s_per_million_serving_rsyslog": round(dockerd_cpu / millions, 2),
        "rsyslog_peak_rss_mb": round(figures["peak_rss_mb"], 1),
        "rsyslog_lines_in_kafka": counted["total"],
        "rsyslog_lines_lost": lines - counted["unique"],
        "rsyslog_lines_duplicated": counted["total"] - counted["unique"] - counted["garbled"],
        "rsyslog_lines_garbled": counted["garbled"],
    }
