"""Kibana cannot run here, so the saved objects are checked against what Kibana needs from them.

- every line parses, and so does every JSON string inside (panelsJSON, searchSourceJSON, ...);
- ids are unique and stable; every reference resolves to an object of the right type in the file,
  and every place that needs a reference (Lens layer, dashboard panel, control, saved search) has
  exactly the one Kibana looks up;
- every field a Lens column, a KQL query, a control or a saved search uses exists in the index
  templates with a type that operation can use (terms on keyword/long, date_histogram on
  date/date_nanos, text only in searches);
- the committed NDJSON is what kibana/build.py builds, and it targets Kibana 8.11.

A checker that never fails proves nothing, so the last tests break a copy of the objects and make
sure the checker names the break.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NDJSON = ROOT / "kibana" / "logfleet.ndjson"
BUILD = ROOT / "kibana" / "build.py"
TEMPLATES = ROOT / "schemas" / "elasticsearch"

TARGET = (8, 11, 0)
RECORDS = "___records___"
AGGREGATABLE = {"keyword", "long", "integer", "short", "byte", "double", "float", "ip", "boolean", "date", "date_nanos"}
TERMS_TYPES = {"keyword", "long", "integer", "short", "byte", "ip", "boolean"}
DATE_TYPES = {"date", "date_nanos"}
NUMERIC = {"long", "integer", "short", "byte", "double", "float"}
GRID_COLUMNS = 48


def load_objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text().splitlines()]


def template_fields() -> dict[str, dict[str, Any]]:
    """Every field the logfleet index templates map: dotted path -> its mapping."""
    fields: dict[str, dict[str, Any]] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, mapping in properties.items():
            path = f"{prefix}{name}"
            if "properties" in mapping:
                walk(mapping["properties"], f"{path}.")
            else:
                fields[path] = mapping

    for component in sorted(TEMPLATES.glob("component-*.json")):
        mappings = json.loads(component.read_text()).get("template", {}).get("mappings", {})
        walk(mappings.get("properties", {}), "")
    return fields


def aggregatable(mapping: dict[str, Any]) -> bool:
    return mapping.get("type") in AGGREGATABLE and mapping.get("doc_values", True) is not False


def searchable(mapping: dict[str, Any]) -> bool:
    return mapping.get("index", True) is not False


_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_KQL_FIELD = re.compile(r"(?<![\w.@])([@A-Za-z_][\w.@]*)\s*:")
_FORMULA_KQL = re.compile(r"kql='((?:[^'\\]|\\.)*)'")


def kql_fields(query: str) -> set[str]:
    """The field names a KQL query names (``field : value``), outside quoted strings."""
    return set(_KQL_FIELD.findall(_QUOTED.sub('""', query)))


def nested_json(obj: dict[str, Any]) -> dict[str, Any]:
    """The JSON strings inside an object's attributes, decoded (raises on a bad one)."""
    attributes = obj["attributes"]
    decoded: dict[str, Any] = {}
    meta = attributes.get("kibanaSavedObjectMeta") or {}
    if "searchSourceJSON" in meta:
        decoded["searchSource"] = json.loads(meta["searchSourceJSON"])
    for key in ("panelsJSON", "optionsJSON"):
        if key in attributes:
            decoded[key] = json.loads(attributes[key])
    group = attributes.get("controlGroupInput")
    if group:
        decoded["controls"] = json.loads(group["panelsJSON"])
        decoded["controlSettings"] = json.loads(group["ignoreParentSettingsJSON"])
    return decoded


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


# ---------------------------------------------------------------------------------------------- checker


def problems(objects: list[dict[str, Any]], fields: dict[str, dict[str, Any]]) -> list[str]:
    """Everything wrong with the saved objects, one sentence each (empty when they are sound)."""
    found: list[str] = []
    by_key = {(o["type"], o["id"]): o for o in objects}
    seen_ids: set[str] = set()
    for obj in objects:
        where = f"{obj['type']} {obj['id']}"
        if obj["id"] in seen_ids:
            found.append(f"{where}: id used twice")
        seen_ids.add(obj["id"])
        names = [ref["name"] for ref in obj["references"]]
        if len(names) != len(set(names)):
            found.append(f"{where}: reference names repeat")
        for ref in obj["references"]:
            if (ref["type"], ref["id"]) not in by_key:
                found.append(f"{where}: reference {ref['name']} -> {ref['type']}/{ref['id']} resolves to nothing")
        checker = {"index-pattern": _data_view, "lens": _lens, "search": _search, "dashboard": _dashboard}.get(
            obj["type"]
        )
        if checker is None:
            found.append(f"{where}: unexpected type")
            continue
        found += [f"{where}: {p}" for p in checker(obj, fields, by_key)]
    return found


def _need(fields: dict[str, dict[str, Any]], name: str, use: str, ok: set[str] | None = None) -> list[str]:
    mapping = fields.get(name)
    if mapping is None:
        return [f"{use} uses {name}, which the index templates do not map"]
    kind = mapping.get("type")
    if use == "search" and not searchable(mapping):
        return [f"{use} uses {name}, which is not indexed"]
    if ok is not None and (kind not in ok or not aggregatable(mapping)):
        return [f"{use} uses {name} ({kind}), which it cannot aggregate"]
    return []


def _query_problems(query: dict[str, Any], fields: dict[str, dict[str, Any]], use: str) -> list[str]:
    if query.get("language") != "kuery":
        return [f"{use}: query language {query.get('language')!r} is not kuery"]
    return [p for name in sorted(kql_fields(query.get("query", ""))) for p in _need(fields, name, "search")]


def _data_view(obj: dict[str, Any], fields: dict[str, dict[str, Any]], _: Any) -> list[str]:
    attributes = obj["attributes"]
    out = [] if attributes.get("title", "").startswith("logs-") else ["data view pattern is not logs-*"]
    return out + _need(fields, attributes.get("timeFieldName", ""), "time field", DATE_TYPES)


def _lens(obj: dict[str, Any], fields: dict[str, dict[str, Any]], _: Any) -> list[str]:
    out: list[str] = []
    state = obj["attributes"]["state"]
    datasources = state["datasourceStates"]
    if set(datasources) != {"formBased"}:
        out.append(f"datasources {sorted(datasources)}: only formBased is emitted")
    layers = datasources.get("formBased", {}).get("layers", {})
    refs = {ref["name"] for ref in obj["references"]}
    wanted = {f"indexpattern-datasource-layer-{layer}" for layer in layers}
    if refs != wanted:
        out.append(f"layer references {sorted(refs)} != {sorted(wanted)}")
    out += _query_problems(state["query"], fields, "lens query")
    columns: dict[str, Any] = {}
    for layer in layers.values():
        columns.update(layer["columns"])
        if set(layer["columnOrder"]) != set(layer["columns"]):
            out.append("columnOrder does not list exactly the layer's columns")
    for column_id, column in columns.items():
        use = f"column {column_id} ({column['operationType']})"
        operation = column["operationType"]
        source = column.get("sourceField")
        if operation == "date_histogram":
            out += _need(fields, source, use, DATE_TYPES)
        elif operation == "terms":
            out += _need(fields, source, use, TERMS_TYPES)
        elif operation == "count":
            if source != RECORDS:
                out += _need(fields, source, use, AGGREGATABLE)
        elif operation in ("sum", "average", "min", "max", "median"):
            out += _need(fields, source, use, NUMERIC)
        elif operation in ("formula", "math"):
            out += [f"{use} refers to missing column {r}" for r in column.get("references", []) if r not in columns]
            formula = column.get("params", {}).get("formula", "")
            for inner in _FORMULA_KQL.findall(formula):
                out += _query_problems({"language": "kuery", "query": inner}, fields, use)
        else:
            out.append(f"{use}: operation not checked by this test")
        if "filter" in column:
            out += _query_problems(column["filter"], fields, use)
        order_by = column.get("params", {}).get("orderBy", {})
        if order_by.get("type") == "column" and order_by.get("columnId") not in columns:
            out.append(f"{use} is ordered by missing column {order_by.get('columnId')}")
    for accessor in _accessors(state["visualization"]):
        if accessor not in columns:
            out.append(f"visualization shows column {accessor}, which no layer has")
    return out


def _accessors(visualization: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for layer in visualization.get("layers", []) or [visualization]:
        for key in ("xAccessor", "splitAccessor", "metricAccessor", "accessor"):
            if layer.get(key):
                found.append(layer[key])
        for key in ("accessors", "primaryGroups", "secondaryGroups", "metrics"):
            found += layer.get(key, [])
    found += [c["columnId"] for c in visualization.get("columns", [])]
    return found


def _search(obj: dict[str, Any], fields: dict[str, dict[str, Any]], _: Any) -> list[str]:
    attributes = obj["attributes"]
    source = nested_json(obj)["searchSource"]
    out = _query_problems(source["query"], fields, "saved search query")
    refs = {ref["name"]: ref for ref in obj["references"]}
    ref_name = source.get("indexRefName")
    if ref_name not in refs or refs[ref_name]["type"] != "index-pattern":
        out.append(f"indexRefName {ref_name!r} has no index-pattern reference")
    for column in attributes["columns"]:
        if column not in fields:
            out.append(f"column {column} is not in the index templates")
    for field, direction in attributes["sort"]:
        out += _need(fields, field, f"sort ({direction})", AGGREGATABLE)
    return out


def _dashboard(obj: dict[str, Any], fields: dict[str, dict[str, Any]], by_key: dict[Any, Any]) -> list[str]:
    out: list[str] = []
    decoded = nested_json(obj)
    out += _query_problems(decoded["searchSource"]["query"], fields, "dashboard query")
    refs = {ref["name"]: ref for ref in obj["references"]}
    used: set[str] = set()
    cells: dict[tuple[int, int], str] = {}
    indexes = [p["panelIndex"] for p in decoded["panelsJSON"]]
    if len(indexes) != len(set(indexes)):
        out.append("panelIndex repeats")
    for panel in decoded["panelsJSON"]:
        index, grid = panel["panelIndex"], panel["gridData"]
        if grid["i"] != index:
            out.append(f"panel {index}: gridData.i is {grid['i']}")
        if grid["x"] < 0 or grid["w"] < 1 or grid["x"] + grid["w"] > GRID_COLUMNS or grid["h"] < 1:
            out.append(f"panel {index}: outside the {GRID_COLUMNS}-column grid")
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                if (x, y) in cells:
                    out.append(f"panel {index} overlaps panel {cells[(x, y)]}")
                    break
                cells[(x, y)] = index
            else:
                continue
            break
        name = f"{index}:{panel.get('panelRefName')}"
        if panel.get("panelRefName") != f"panel_{index}" or name not in refs:
            out.append(f"panel {index}: no reference {name}")
            continue
        used.add(name)
        if refs[name]["type"] != panel["type"]:
            out.append(f"panel {index} is a {panel['type']} but its reference is a {refs[name]['type']}")
    for control_id, control in decoded.get("controls", {}).items():
        name = f"controlGroup_{control_id}:optionsListDataView"
        if control["type"] != "optionsListControl" or control["explicitInput"]["id"] != control_id:
            out.append(f"control {control_id}: not an options list with its own id")
        if name not in refs:
            out.append(f"control {control_id}: no reference {name}")
        used.add(name)
        out += _need(fields, control["explicitInput"]["fieldName"], f"control {control_id}", TERMS_TYPES)
    for name in sorted(set(refs) - used):
        out.append(f"reference {name} is used by no panel or control")
    return out


# ------------------------------------------------------------------------------------------------ tests


def test_every_line_and_every_json_string_inside_parses() -> None:
    objects = load_objects()
    assert len(objects) == len(NDJSON.read_text().splitlines()) >= 15
    for obj in objects:
        assert {"type", "id", "attributes", "references"} <= set(obj), obj.get("id")
        assert isinstance(obj["references"], list)
        nested_json(obj)  # raises if a JSON string does not parse
    assert not any("exportedCount" in obj for obj in objects), "an export summary line is not a saved object"


def test_the_objects_are_sound_against_the_index_templates() -> None:
    assert problems(load_objects(), template_fields()) == []


def test_ids_are_stable_and_unique() -> None:
    ids = [obj["id"] for obj in load_objects()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"logfleet-[a-z0-9-]+", i) for i in ids), ids


def test_everything_the_issue_asks_for_is_there() -> None:
    objects = load_objects()
    titles = {(o["type"], o["attributes"]["title"]) for o in objects}
    for wanted in [
        ("dashboard", "Logs overview"),
        ("dashboard", "Format compliance"),
        ("dashboard", "Container"),
        ("search", "Errors"),
        ("search", "Format violations"),
        ("index-pattern", "logs-*"),
        ("index-pattern", "logs-logfleet.deadletter-*"),
    ]:
        assert wanted in titles
    for obj in objects:
        if obj["type"] == "index-pattern":
            assert obj["attributes"]["timeFieldName"] == "@timestamp"
    container = next(o for o in objects if o["attributes"]["title"] == "Container")
    controls = nested_json(container)["controls"]
    assert [c["explicitInput"]["fieldName"] for c in controls.values()] == ["container.name"]


# Attribute names Kibana's own schemas accept (dashboards are validated with unknowns forbidden):
# src/plugins/dashboard/common/content_management/v1/cm_services.ts and
# src/plugins/saved_search/server/saved_objects/schema.ts (SCHEMA_SEARCH_V8_8_0).
DASHBOARD_KEYS = {
    "title", "description", "kibanaSavedObjectMeta", "timeRestore", "timeFrom", "timeTo", "refreshInterval",
    "controlGroupInput", "panelsJSON", "optionsJSON", "hits", "version",
}
CONTROL_GROUP_KEYS = {"panelsJSON", "controlStyle", "chainingSystem", "ignoreParentSettingsJSON"}
SEARCH_KEYS = {
    "title", "description", "columns", "sort", "grid", "rowHeight", "rowsPerPage", "hideChart", "breakdownField",
    "kibanaSavedObjectMeta", "isTextBasedQuery", "usesAdHocDataView", "timeRestore", "timeRange",
    "refreshInterval", "viewMode", "hideAggregatedPreview", "hits", "version",
}
LENS_KEYS = {"title", "description", "visualizationType", "state"}
DATA_VIEW_KEYS = {
    "title", "name", "timeFieldName", "allowNoIndex", "fields", "fieldFormatMap", "fieldAttrs", "runtimeFieldMap",
    "sourceFilters", "type", "typeMeta",
}


def test_attributes_are_ones_kibana_accepts() -> None:
    allowed = {"dashboard": DASHBOARD_KEYS, "search": SEARCH_KEYS, "lens": LENS_KEYS, "index-pattern": DATA_VIEW_KEYS}
    for obj in load_objects():
        unknown = set(obj["attributes"]) - allowed[obj["type"]]
        assert not unknown, (obj["id"], unknown)
        if "controlGroupInput" in obj["attributes"]:
            assert set(obj["attributes"]["controlGroupInput"]) <= CONTROL_GROUP_KEYS
        if obj["type"] == "search":
            assert all(len(pair) == 2 for pair in obj["attributes"]["sort"])


def test_built_for_the_oldest_supported_kibana() -> None:
    for obj in load_objects():
        assert version(obj["coreMigrationVersion"]) <= TARGET
        assert version(obj["typeMigrationVersion"]) <= TARGET, obj["id"]
        for panel in nested_json(obj).get("panelsJSON", []):
            assert version(panel["version"]) <= TARGET


def test_the_committed_file_is_what_build_py_builds() -> None:
    result = subprocess.run([sys.executable, str(BUILD), "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_kql_field_extraction() -> None:
    assert kql_fields('log.level : ("error" or "fatal") and not data_stream.dataset : "a:b"') == {
        "log.level",
        "data_stream.dataset",
    }
    assert kql_fields("logfleet.violations : *") == {"logfleet.violations"}


# ---------------------------------------------------------------------- the checker catches what it should


def _broken(change: Any) -> list[str]:
    objects = copy.deepcopy(load_objects())
    change({(o["type"], o["id"]): o for o in objects})
    return problems(objects, template_fields())


def _lens_columns(objects: dict[Any, Any], object_id: str) -> dict[str, Any]:
    layers = objects[("lens", object_id)]["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]
    return dict(next(iter(layers.values()))["columns"])


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            lambda o: _lens_columns(o, "logfleet-lens-volume-by-level")["split"].update(sourceField="log.levle"),
            "uses log.levle, which the index templates do not map",
        ),
        (
            lambda o: _lens_columns(o, "logfleet-lens-volume-by-level")["split"].update(sourceField="message"),
            "uses message (text), which it cannot aggregate",
        ),
        (
            lambda o: _lens_columns(o, "logfleet-lens-error-rate")["time"].update(sourceField="event.sequence"),
            "uses event.sequence (long), which it cannot aggregate",
        ),
        (
            lambda o: o[("search", "logfleet-search-errors")]["attributes"]["columns"].append("servise.name"),
            "column servise.name is not in the index templates",
        ),
        (
            lambda o: o[("lens", "logfleet-lens-error-rate")]["references"][0].update(id="nope"),
            "resolves to nothing",
        ),
        (
            lambda o: o[("dashboard", "logfleet-dashboard-overview")]["references"].pop(),
            "panel errors: no reference errors:panel_errors",
        ),
        (
            lambda o: o[("dashboard", "logfleet-dashboard-container")]["references"].pop(),
            "no reference controlGroup_",
        ),
        (
            lambda o: o[("lens", "logfleet-lens-top-containers")]["attributes"]["state"]["query"].update(
                query='contaner.name : "x"'
            ),
            "uses contaner.name",
        ),
        (
            lambda o: o[("index-pattern", "logfleet-deadletter")].update(id="logfleet-logs"),
            "id used twice",
        ),
    ],
    ids=["unknown-field", "text-in-terms", "long-in-date-histogram", "unknown-column", "dangling-reference",
         "panel-without-reference", "control-without-reference", "unknown-field-in-kql", "duplicate-id"],
)
def test_the_checker_names_a_broken_object(change: Any, says: str) -> None:
    found = _broken(change)
    assert any(says in problem for problem in found), found
