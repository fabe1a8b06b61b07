"""100 containers started and stopped over 25-45 s while the whole pipeline runs: every
line Docker holds for them ends in Elasticsearch exactly once (issue 7, container churn).

A quarter of the containers print three lines and exit (they live well under a second), a quarter
write 150 lines, pause and write 50 more on stderr, a quarter are killed (SIGKILL) and a quarter
stopped (SIGTERM) while they write, 0.3-2 s after they started. Shipper, processor and indexer run
in-process. At the end what the Docker Engine API returns for each container (``docker logs``:
the lines it really wrote) is compared with the documents in Elasticsearch, line by line. The
containers are not auto-removed (Docker deletes a removed container's logs) and are removed after.
"""

from __future__ import annotations

import asyncio
import collections
import random
from typing import Any

import pytest

from indexer.daemon import Indexer
from logfleet.core.config import Settings
from processor.daemon import Processor
from shipper.daemon import Shipper
from tests.support import docs_reach, running, start_container, stored_docs, wait_for

pytestmark = [pytest.mark.servers]

CONTAINERS = 100
CHURN_S = 25.0  # the containers are started over about this long (more on a loaded machine)
KINDS = ("short", "pause", "killed", "stopped")


def script(kind: str, k: int) -> str:
    """What container ``k`` runs: every line it writes is ``c<k> n<i>``, unique in the test."""
    if kind == "short":
        return f'echo "c{k} n0"; echo "c{k} n1" >&2; echo "c{k} n2"'
    if kind == "pause":
        return (
            f"awk 'BEGIN {{ for (i = 0; i < 150; i++) print \"c{k} n\" i }}'; usleep 300000; "
            f'awk \'BEGIN {{ for (i = 150; i < 200; i++) print "c{k} n" i > "/dev/stderr" }}\''
        )
    # Writes until it is killed or stopped: about 150 lines a second.
    return f'i=0; while true; do echo "c{k} n$i"; i=$((i+1)); usleep 5000; done'


def docker_lines(container: Any) -> list[str]:
    """The lines the Docker Engine API returns for a container (stdout and stderr)."""
    return container.logs(stdout=True, stderr=True).decode().splitlines()  # type: ignore[no-any-return]


async def end_later(container: Any, kind: str, delay: float) -> None:
    await asyncio.sleep(delay)
    if kind == "killed":
        await asyncio.to_thread(container.kill)
    else:
        await asyncio.to_thread(container.stop, timeout=2)


async def churn(settings: Settings, rng: random.Random, started: list[tuple[str, Any]]) -> None:
    """Start the containers one after the other over about CHURN_S (into ``started`` as they start,
    so a failure half-way still removes them); end the writers while they write."""
    enders = []
    loop = asyncio.get_running_loop()
    begin = loop.time()
    for k in range(CONTAINERS):
        kind = KINDS[k % len(KINDS)]
        container = await asyncio.to_thread(
            start_container,
            settings,
            script(kind, k),
            name=f"churn-{k}-{settings.namespace}",
            labels={"logfleet.dataset": "churn"},
        )
        started.append((kind, container))
        if kind in ("killed", "stopped"):
            enders.append(asyncio.create_task(end_later(container, kind, rng.uniform(0.3, 2.0))))
        await asyncio.sleep(max(0.0, begin + CHURN_S * (k + 1) / CONTAINERS - loop.time()))
    await asyncio.gather(*enders)


async def all_exited(containers: list[tuple[str, Any]]) -> bool:
    def exited() -> bool:
        for _, container in containers:
            container.reload()
            if container.status != "exited":
                return False
        return True

    return await asyncio.to_thread(exited)


@pytest.mark.timeout(300)
async def test_100_containers_started_and_stopped_mid_stream_every_line_once(
    pipeline_settings: Settings,
) -> None:
    settings = pipeline_settings
    rng = random.Random()
    started: list[tuple[str, Any]] = []
    try:
        async with running(Shipper(settings), Processor(settings), Indexer(settings)):
            await asyncio.sleep(1.0)  # the shipper listens to Docker's events
            await churn(settings, rng, started)
            assert await wait_for(lambda: all_exited(started), within=60), "some containers did not exit"
            lines_of = {c.name: (kind, await asyncio.to_thread(docker_lines, c)) for kind, c in started}
            written = collections.Counter(line for _, lines in lines_of.values() for line in lines)
            assert await wait_for(lambda: docs_reach(settings, sum(written.values())), within=120, interval=2)
        stored = collections.Counter(str(doc["message"]) for doc in await stored_docs(settings))
    finally:
        for _, container in started:
            await asyncio.to_thread(container.remove, force=True)

    lost = written - stored
    extra = stored - written
    duplicated = [line for line, n in stored.items() if n > 1]
    print(
        f"\nchurn: containers={len(started)} lines written={sum(written.values())} "
        f"stored={sum(stored.values())} lost={sum(lost.values())} extra={sum(extra.values())}"
    )
    assert len(started) == CONTAINERS
    assert duplicated == []
    assert lost == collections.Counter(), f"lost {sum(lost.values())}: {list(lost)[:10]}"
    assert extra == collections.Counter(), f"not written: {list(extra)[:10]}"
    # Docker itself has every line of the containers that ended on their own, and some of the others.
    wanted = {"short": 3, "pause": 200}
    for name, (kind, lines) in lines_of.items():
        assert len(lines) == wanted[kind] if kind in wanted else len(lines) > 0, (name, kind, len(lines))
