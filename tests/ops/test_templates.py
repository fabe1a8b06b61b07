"""The index template maps what the parsers write: every ECS field a built-in parser produces on the
golden inputs, and every field a named pattern may fill, with the type it takes. The template is
``dynamic: false``, so a field it does not map is kept in ``_source`` but cannot be searched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from logfleet.ops.provision import schemas_dir
from processor.parse import parse_line
from processor.parse.patterns import FIELDS

GOLDEN = Path(__file__).resolve().parents[1] / "processor" / "golden"
# Not ECS: the vendors' own namespaces (kept unmapped, as Filebeat's modules keep them in their own
# templates), the free-form objects (flattened) and syslog's structured data (any names).
UNMAPPED_PREFIXES = ("apache.", "nginx.", "postgresql.", "redis.", "log.syslog.structured_data.")


def _properties() -> dict[str, Any]:
    component = orjson.loads((schemas_dir() / "elasticsearch" / "component-logfleet-ecs.json").read_bytes())
    return component["template"]["mappings"]["properties"]  # type: ignore[no-any-return]


def _mapping(path: str) -> dict[str, Any] | None:
    """The mapping of a dotted field, the ``flattened`` object above it, or None."""
    node: dict[str, Any] = {"properties": _properties()}
    for part in path.split("."):
        if node.get("type") == "flattened":
            return node
        child = node.get("properties", {}).get(part)
        if child is None:
            return None
        node = child
    return node


def _paths(fields: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in fields.items():
        if isinstance(value, dict) and value:
            out.extend(_paths(value, f"{prefix}{key}."))
        else:
            out.append(prefix + key)
    return out


def test_every_ecs_field_the_parsers_write_on_the_golden_inputs_is_mapped() -> None:
    written: set[str] = set()
    for source in sorted(GOLDEN.glob("*.input")):
        for line in source.read_text(encoding="utf-8", errors="replace").split("\n"):
            if line:
                written.update(_paths(parse_line(line).fields))
    assert len(written) > 40  # the golden inputs cover the parsers
    unmapped = sorted(p for p in written if not p.startswith(UNMAPPED_PREFIXES) and _mapping(p) is None)
    assert not unmapped, f"written by a parser but not in the template: {unmapped}"


@pytest.mark.parametrize(("field", "kind"), sorted(FIELDS.items()))
def test_every_field_a_named_pattern_may_fill_is_mapped_as_what_it_takes(field: str, kind: str) -> None:
    mapping = _mapping(field)
    assert mapping is not None, f"{field} is not in the template"
    assert mapping.get("type") in ({"keyword", "text"} if kind == "keyword" else {kind})  # a string: either
