"""The search-engine layer: the engine chosen from GET /, setup on each engine, and the OpenSearch
translations (flat_object, the ISM policy from the ILM one) checked without a server."""

from __future__ import annotations

import orjson
import pytest

from logfleet.clients import search
from logfleet.clients.search.opensearch import component_template, flat_objects, ism_policy
from logfleet.core.config import Settings
from logfleet.ops import provision
from tests.support import SearchServer


def _schema(name: str) -> dict[str, object]:
    return dict(orjson.loads((provision.schemas_dir() / "elasticsearch" / name).read_bytes()))


def test_the_ism_policy_is_the_ilm_policy() -> None:
    policy = ism_policy(_schema("ilm-logfleet-logs.json"), ["logs-*-*"])["policy"]
    hot, delete = policy["states"]
    assert policy["default_state"] == "hot"
    assert hot["actions"] == [{"rollover": {"min_index_age": "1d", "min_primary_shard_size": "50gb"}}]
    assert hot["transitions"] == [{"state_name": "delete", "conditions": {"min_rollover_age": "30d"}}]
    assert delete["actions"] == [{"delete": {}}]
    assert policy["ism_template"] == [{"index_patterns": ["logs-*-*"], "priority": 100}]


def test_flattened_fields_become_flat_object_without_parameters() -> None:
    mappings = _schema("component-logfleet-ecs.json")["template"]["mappings"]  # type: ignore[index]
    converted = orjson.dumps(flat_objects(mappings)).decode()
    assert '"flattened"' not in converted and "depth_limit" not in converted
    assert flat_objects({"app": {"type": "flattened", "depth_limit": 20}}) == {"app": {"type": "flat_object"}}
    component = component_template(_schema("component-logfleet-settings.json"))
    assert "index.lifecycle.name" not in component["template"]["settings"]




@pytest.mark.servers
async def test_connect_picks_the_engine_from_the_servers_answer(
    engine_settings: Settings, search_engine: SearchServer
) -> None:
    async with search.connect(engine_settings) as engine:
        assert engine.name == ("opensearch" if search_engine.name == "opensearch" else "elasticsearch")
        assert engine.version


@pytest.mark.servers
async def test_setup_twice_puts_templates_and_says_what_retention_is_missing(
    engine_settings: Settings, search_engine: SearchServer
) -> None:
    first = await provision.setup_elasticsearch(engine_settings)
    second = await provision.setup_elasticsearch(engine_settings)
    assert first == second
    engine_name = "opensearch" if search_engine.name == "opensearch" else "elasticsearch"
    assert f"{engine_name}: index template logfleet-logs put" in first
    assert f"{engine_name}: index template logfleet-deadletter put" in first
    lifecycle = first[0]
    async with search.connect(engine_settings) as engine:
        has_ism = "opensearch-index-management" in await engine.plugins()
        templates = await engine.request("GET", "/_component_template/logfleet-ecs")
    if search_engine.name == "opensearch":
        assert lifecycle.startswith("opensearch: ism policy" if has_ism else "opensearch: no index-management")
        mapping = templates["component_templates"][0]["component_template"]["template"]["mappings"]
        assert mapping["properties"]["labels"] == {"type": "flat_object"}
    else:
        assert lifecycle.startswith("elasticsearch: no ILM on this server")  # the stand-in has none


@pytest.mark.servers
async def test_a_first_write_creates_a_data_stream_on_opensearch(
    engine_settings: Settings, search_engine: SearchServer
) -> None:
    if search_engine.name != "opensearch":
        pytest.skip("the stand-in stores data streams as plain indices")
    stream = f"logs-ds-{engine_settings.namespace}"
    body = orjson.dumps({"create": {"_index": stream, "_id": "one"}}) + b"\n" + orjson.dumps(
        {"@timestamp": "2026-01-01T00:00:00.123456789Z", "message": "m", "labels": {"a": "b"}}) + b"\n"
    async with search.connect(engine_settings) as engine:
        answer = await engine.bulk(body)
        assert answer["items"][0]["create"]["status"] == 201
        again = await engine.bulk(body)
        assert again["items"][0]["create"]["status"] == 409  # create with the same _id: a duplicate
        streams = await engine.request("GET", f"/_data_stream/{stream}")
        assert [s["name"] for s in streams["data_streams"]] == [stream]
        assert await engine.indices(stream) == [f".ds-{stream}-000001"]
        await engine.refresh(stream)
        found = await engine.search(stream, query={"term": {"labels.a": "b"}})  # flat_object: dotted paths
        assert [hit["_id"] for hit in found["hits"]["hits"]] == ["one"]
