"""Building blocks of Kibana 8.x saved objects: the object envelope, data views, Lens columns and charts.

Shapes follow what Kibana 8.x itself stores and exports; ``kibana/build.py`` composes logfleet's
dashboards from these. ``typeMigrationVersion`` says which migrations an object has already been
through; each value here is one that Kibana 8.11, the oldest version supported, knows for that type.
"""

from __future__ import annotations

from typing import Any

KIBANA_MIN = "8.11.0"
CORE_MIGRATION_VERSION = "8.8.0"
TYPE_MIGRATION_VERSION = {"index-pattern": "8.0.0", "search": "8.0.0", "lens": "8.9.0", "dashboard": "8.9.0"}
RECORDS = "___records___"  # Lens' pseudo-field for "count of records"


def saved_object(
    kind: str, object_id: str, attributes: dict[str, Any], references: list[dict[str, str]]
) -> dict[str, Any]:
    """One saved object as the import API takes it."""
    return {
        "attributes": attributes,
        "coreMigrationVersion": CORE_MIGRATION_VERSION,
        "id": object_id,
        "managed": False,
        "references": references,
        "type": kind,
        "typeMigrationVersion": TYPE_MIGRATION_VERSION[kind],
    }


def kql(query: str) -> dict[str, str]:
    return {"language": "kuery", "query": query}


# ------------------------------------------------------------------------------------------- data views


def data_view(object_id: str, pattern: str, name: str) -> dict[str, Any]:
    attributes = {"title": pattern, "name": name, "timeFieldName": "@timestamp", "allowNoIndex": True}
    return saved_object("index-pattern", object_id, attributes, [])


# ------------------------------------------------------------------------------------------ Lens columns


def date_histogram() -> dict[str, Any]:
    return {
        "label": "@timestamp",
        "dataType": "date",
        "operationType": "date_histogram",
        "sourceField": "@timestamp",
        "isBucketed": True,
        "scale": "interval",
        "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False},
    }


def count(label: str = "Records", filter_kql: str = "") -> dict[str, Any]:
    column: dict[str, Any] = {
        "label": label,
        "dataType": "number",
        "operationType": "count",
        "isBucketed": False,
        "scale": "ratio",
        "sourceField": RECORDS,
        "params": {"emptyAsNull": True},
        "customLabel": True,
    }
    if filter_kql:
        column["filter"] = kql(filter_kql)
    return column


def terms(field: str, size: int, order_by: str, label: str = "", other: bool = True) -> dict[str, Any]:
    return {
        "label": label or f"Top {size} values of {field}",
        "dataType": "string",
        "operationType": "terms",
        "scale": "ordinal",
        "sourceField": field,
        "isBucketed": True,
        "params": {
            "size": size,
            "orderBy": {"type": "column", "columnId": order_by},
            "orderDirection": "desc",
            "otherBucket": other,
            "missingBucket": False,
            "parentFormat": {"id": "terms"},
        },
        **({"customLabel": True} if label else {}),
    }


def share_formula(column_id: str, label: str, numerator_kql: str) -> dict[str, dict[str, Any]]:
    """A Lens formula ``count(kql='...') / count()`` as a percentage, with the helper columns Lens stores."""
    text = f"count(kql='{numerator_kql}') / count()"
    part = f"Part of {label}"
    helper = {"dataType": "number", "isBucketed": False, "scale": "ratio", "customLabel": True}
    return {
        column_id: {
            "label": label,
            "dataType": "number",
            "operationType": "formula",
            "isBucketed": False,
            "scale": "ratio",
            "params": {
                "formula": text,
                "isFormulaBroken": False,
                "format": {"id": "percent", "params": {"decimals": 1}},
            },
            "references": [f"{column_id}X2"],
            "customLabel": True,
        },
        f"{column_id}X0": {
            "label": part,
            "operationType": "count",
            "sourceField": RECORDS,
            "filter": kql(numerator_kql),
            **helper,
        },
        f"{column_id}X1": {"label": part, "operationType": "count", "sourceField": RECORDS, **helper},
        f"{column_id}X2": {
            "label": part,
            "operationType": "math",
            "params": {
                "tinymathAst": {
                    "type": "function",
                    "name": "divide",
                    "args": [f"{column_id}X0", f"{column_id}X1"],
                    "location": {"min": 0, "max": len(text)},
                    "text": text,
                }
            },
            "references": [f"{column_id}X0", f"{column_id}X1"],
            **helper,
        },
    }


# --------------------------------------------------------------------------------- Lens visualizations


def xy(layer: str, x: str, accessors: list[str], split: str = "", series: str = "bar_stacked",
       legend: str = "right", percent_axis: bool = False) -> dict[str, Any]:
    layer_state: dict[str, Any] = {
        "layerId": layer,
        "accessors": accessors,
        "position": "top",
        "seriesType": series,
        "showGridlines": False,
        "layerType": "data",
        "xAccessor": x,
    }
    if split:
        layer_state["splitAccessor"] = split
    state: dict[str, Any] = {
        "legend": {"isVisible": True, "position": legend},
        "valueLabels": "hide",
        "fittingFunction": "None",
        "axisTitlesVisibilitySettings": {"x": False, "yLeft": True, "yRight": True},
        "tickLabelsVisibilitySettings": {"x": True, "yLeft": True, "yRight": True},
        "gridlinesVisibilitySettings": {"x": True, "yLeft": True, "yRight": True},
        "preferredSeriesType": series,
        "layers": [layer_state],
    }
    if percent_axis:
        state["yLeftExtent"] = {"mode": "custom", "lowerBound": 0, "upperBound": 1}
    return state


def datatable(layer: str, columns: list[str], sort_by: str) -> dict[str, Any]:
    return {
        "layerId": layer,
        "layerType": "data",
        "columns": [{"columnId": c, "isTransposed": False} for c in columns],
        "sorting": {"columnId": sort_by, "direction": "desc"},
    }


def donut(layer: str, group: str, metric: str) -> dict[str, Any]:
    return {
        "shape": "donut",
        "layers": [
            {
                "layerId": layer,
                "primaryGroups": [group],
                "metrics": [metric],
                "numberDisplay": "percent",
                "categoryDisplay": "default",
                "legendDisplay": "default",
                "nestedLegend": False,
                "layerType": "data",
            }
        ],
    }


def lens(object_id: str, title: str, description: str, vis_type: str, view: str, layer: str,
         columns: dict[str, dict[str, Any]], order: list[str], visualization: dict[str, Any],
         query: str) -> dict[str, Any]:
    state = {
        "adHocDataViews": {},
        "datasourceStates": {
            "formBased": {"layers": {layer: {"columnOrder": order, "columns": columns, "incompleteColumns": {}}}}
        },
        "filters": [],
        "internalReferences": [],
        "query": kql(query),
        "visualization": visualization,
    }
    attributes = {"title": title, "description": description, "visualizationType": vis_type, "state": state}
    references = [{"type": "index-pattern", "id": view, "name": f"indexpattern-datasource-layer-{layer}"}]
    return saved_object("lens", object_id, attributes, references)
