"""Create what the pipeline needs on the servers: Kafka topics, search-engine templates and policy.

Everything is idempotent: templates are put (updated in place), topics are created when missing.
The definitions live in ``schemas/`` as JSON files, written for Elasticsearch; the engine layer
(:mod:`logfleet.clients.search`) adapts them for OpenSearch (``flat_object``, an ISM policy from the ILM one).
Where a server lacks a feature (the local Elasticsearch stand-in has no ILM, an OpenSearch without the
index-management plugin has no ISM) setup says so in one line and goes on.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

from logfleet.clients import kafka, search
from logfleet.core.config import Settings
from logfleet.core.errors import ConfigError


def schemas_dir() -> Path:
    """Where the schema files are: ``LOGFLEET_SCHEMAS_DIR`` or the repository's ``schemas/``."""
    explicit = os.environ.get("LOGFLEET_SCHEMAS_DIR")
    path = Path(explicit) if explicit else Path(__file__).resolve().parents[2] / "schemas"
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
    """Put the retention policy (ILM on Elasticsearch, ISM on OpenSearch, where the server has it), the
    component and index templates; returns what was done, one line each, prefixed with the engine."""
    report: list[str] = []
    async with search.connect(settings) as engine:
        line, named_in_settings = await engine.put_lifecycle("logfleet-logs", _load("ilm-logfleet-logs.json"))
        report.append(line)
        settings_template = _load("component-logfleet-settings.json")
        if not named_in_settings:
            settings_template["template"]["settings"].pop("index.lifecycle.name", None)
        for name, body in (
            ("logfleet-ecs", _load("component-logfleet-ecs.json")),
            ("logfleet-settings", settings_template),
        ):
            await engine.put_component_template(name, body)
            report.append(f"{engine.name}: component template {name} put")
        for name, file in (
            ("logfleet-logs", "index-template-logfleet-logs.json"),
            ("logfleet-deadletter", "index-template-logfleet-deadletter.json"),
        ):
            await engine.put_index_template(name, _load(file))
            report.append(f"{engine.name}: index template {name} put")
    return report
