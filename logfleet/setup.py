"""Create what the pipeline needs on the servers: Kafka topics, Elasticsearch templates and policy.

Everything is idempotent: templates are put (updated in place), topics are created when missing.
The definitions live in ``schemas/`` as JSON files. Where a server lacks a feature (the local
stand-in has no ILM) setup says so in one line and goes on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
from elasticsearch import AsyncElasticsearch

from logfleet import es, kafka
from logfleet.config import Settings
from logfleet.errors import ConfigError, LogfleetError


def schemas_dir() -> Path:
    """Where the schema files are: ``LOGFLEET_SCHEMAS_DIR`` or the repository's ``schemas/``."""
    explicit = os.environ.get("LOGFLEET_SCHEMAS_DIR")
    path = Path(explicit) if explicit else Path(__file__).resolve().parent.parent / "schemas"
    if not (path / "elasticsearch").is_dir():
        raise ConfigError(f"schema files not found in {path} (set LOGFLEET_SCHEMAS_DIR)")
    return path


def _load(name: str) -> dict[str, Any]:
    data = orjson.loads((schemas_dir() / "elasticsearch" / name).read_bytes())
    return dict(data)


async def setup_kafka(settings: Settings) -> list[str]:
    """Create the topics; returns lines describing what was done."""
    return await kafka.ensure_topics(settings)


async def setup_elasticsearch(settings: Settings) -> list[str]:
    """Put the ILM policy (when supported), component and index templates; returns what was done."""
    report: list[str] = []
    async with es.client(settings) as client:
        ilm = await _put_ilm(client, _load("ilm-logfleet-logs.json"))
        report.append(ilm)
        settings_template = _load("component-logfleet-settings.json")
        if not ilm.startswith("elasticsearch: ilm policy"):
            settings_template["template"]["settings"].pop("index.lifecycle.name", None)
        for name, body in (
            ("logfleet-ecs", _load("component-logfleet-ecs.json")),
            ("logfleet-settings", settings_template),
        ):
            await client.cluster.put_component_template(name=name, template=body["template"], meta=body["_meta"])
            report.append(f"elasticsearch: component template {name} put")
        for name, file in (
            ("logfleet-logs", "index-template-logfleet-logs.json"),
            ("logfleet-deadletter", "index-template-logfleet-deadletter.json"),
        ):
            body = _load(file)
            await client.indices.put_index_template(
                name=name,
                index_patterns=body["index_patterns"],
                data_stream=body["data_stream"],
                priority=body["priority"],
                composed_of=body["composed_of"],
                meta=body["_meta"],
            )
            report.append(f"elasticsearch: index template {name} put")
    return report


async def _put_ilm(client: AsyncElasticsearch, body: dict[str, Any]) -> str:
    try:
        await client.ilm.put_lifecycle(name="logfleet-logs", policy=body["policy"])
    except LogfleetError:
        raise
    except Exception as exc:  # the server has no ILM: not fatal
        status = getattr(getattr(exc, "meta", None), "status", None)
        if status is None:
            raise
        return f"elasticsearch: no ILM on this server (HTTP {status}); retention must be managed otherwise"
    return "elasticsearch: ilm policy logfleet-logs put"
