"""``logfleet setup kafka`` against a real broker: topics with the configured partitions,
replication and ``min.insync.replicas``, capped to the brokers present with one line saying so;
repeating it reports what exists and what differs, and changes nothing (issue 11).

A real broker auto-creates a topic that a metadata request names (``auto.create.topics.enable``
is on by default), with one partition: setup therefore never describes a topic it has not seen
listed. Before that, the first setup on a fresh cluster made 1-partition topics and then
reported them as created with 6.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from pathlib import Path

import pytest

from logfleet.clients import kafka
from logfleet.core.config import Settings
from logfleet.core.errors import DeliveryError
from logfleet.ops import provision
from tests.support import wait_for

pytestmark = [pytest.mark.servers]


def fresh(stack: Settings, partitions: int = 3) -> Settings:
    tag = uuid.uuid4().hex[:8]
    return dataclasses.replace(stack, topic_raw=f"setup-raw-{tag}", topic_events=f"setup-events-{tag}",
                               topic_dlq=f"setup-dlq-{tag}", topic_partitions=partitions)


async def states(settings: Settings) -> dict[str, kafka.TopicState]:
    """The pipeline topics' states once the broker lists all three (creation completes shortly
    after CreateTopics answered)."""

    async def all_three() -> dict[str, kafka.TopicState]:
        async with kafka.admin(settings) as client:
            found = await kafka.describe(client, kafka.pipeline_topics(settings))
        return found if len(found) == 3 else {}

    return await wait_for(all_three, within=10, interval=0.2)  # type: ignore[no-any-return]


async def test_setup_creates_topics_as_configured_and_says_what_the_cluster_allowed(stack: Settings) -> None:
    settings = fresh(stack, partitions=4)
    lines = await provision.setup_kafka(settings)
    assert lines == [
        "kafka: 1 broker(s), fewer than topic_replication_factor 3: new topics get replication factor 1 "
        "and min.insync.replicas 1",
        *[f"kafka: created topic {name} (4 partitions, replication factor 1, min.insync.replicas 1)"
          for name in kafka.pipeline_topics(settings)],
    ]
    found = await states(settings)
    assert {name: (s.partitions, s.replication_factor, s.min_insync_replicas) for name, s in found.items()} == {
        name: (4, 1, 1) for name in kafka.pipeline_topics(settings)}


async def test_setup_again_reports_existing_topics_and_their_differences_without_changing_them(
    stack: Settings,
) -> None:
    settings = fresh(stack, partitions=2)
    await provision.setup_kafka(settings)
    again = await provision.setup_kafka(settings)
    assert again[1:] == [f"kafka: topic {name} exists" for name in kafka.pipeline_topics(settings)]
    wider = dataclasses.replace(settings, topic_partitions=5)
    differs = await provision.setup_kafka(wider)
    assert differs[1:] == [f"kafka: topic {name} exists, but DIFFERS: 2 partitions, settings say 5 (left as it is)"
                           for name in kafka.pipeline_topics(settings)]
    assert {s.partitions for s in (await states(settings)).values()} == {2}


async def test_a_topic_the_broker_refuses_to_create_is_an_error_not_a_success(stack: Settings) -> None:
    settings = dataclasses.replace(fresh(stack), topic_raw="not a valid topic name!")
    with pytest.raises(DeliveryError, match="creating topics failed"):
        await provision.setup_kafka(settings)


def test_replication_settings_that_cannot_work_are_config_errors(tmp_path: Path) -> None:
    from tests.support import bare_cli

    result = bare_cli("setup", "kafka", LOGFLEET_TOPIC_REPLICATION_FACTOR="2", LOGFLEET_TOPIC_MIN_INSYNC_REPLICAS="3")
    assert result.returncode == 2
    assert result.stderr.strip() == ("logfleet: topic_min_insync_replicas (3) must be between 1 and "
                                     "topic_replication_factor (2)")


async def test_status_reports_missing_topics_without_creating_them(stack: Settings) -> None:
    from logfleet.ops import status

    settings = fresh(stack)
    lag = await status.consumer_lag(settings)
    assert lag["ok"], lag
    assert [s["missing_topics"] for s in lag["stages"]] == [
        [settings.topic_raw], [settings.topic_events, settings.topic_dlq]]
    await asyncio.sleep(3)  # a broker creates an asked-for topic in the background, a moment later
    async with kafka.admin(settings) as client:
        assert await kafka.describe(client, kafka.pipeline_topics(settings)) == {}  # nothing auto-created
