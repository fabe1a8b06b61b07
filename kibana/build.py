#!/usr/bin/env python3
"""Build kibana/logfleet.ndjson: logfleet's Kibana saved objects, for Kibana 8.11 and later.

Run ``python kibana/build.py`` after changing anything here and commit both files; a test checks
that the committed NDJSON is what this script builds, and that every field, reference and id in it
is sound (tests/kibana/).

Shapes follow what Kibana 8.x itself stores and exports (Kibana's own sample data sets and
Lens/dashboard reference extraction code were the models):

- data views are ``index-pattern`` objects with ``title`` (the pattern) and ``timeFieldName``;
- visualizations are Lens objects (``type: lens``) with the ``formBased`` datasource and one
  reference per layer, named ``indexpattern-datasource-layer-<layerId>``;
- saved searches keep their query in ``kibanaSavedObjectMeta.searchSourceJSON`` (a JSON string)
  and their data view as the reference ``kibanaSavedObjectMeta.searchSourceJSON.index``;
- dashboards hold panels by reference: ``panelsJSON`` (a JSON string) names each panel's object by
  ``panelRefName`` ``panel_<panelIndex>``, and the dashboard's references carry
  ``<panelIndex>:panel_<panelIndex>``; an options-list control refers to its data view as
  ``controlGroup_<controlId>:optionsListDataView``.

Objects are built for the oldest Kibana supported (8.11): Kibana imports objects into the same or
a newer version, never an older one. ``typeMigrationVersion`` says which migrations an object has
already been through; each value here is one that Kibana 8.11 knows for that type, so Kibana runs
only later migrations (if any) on import.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lens import (
    KIBANA_MIN,
    count,
    data_view,
    datatable,
    date_histogram,
    donut,
    kql,
    lens,
    saved_object,
    share_formula,
    terms,
    xy,
)

OUTPUT = Path(__file__).resolve().parent / "logfleet.ndjson"

LOGS_VIEW = "logfleet-logs"
DEADLETTER_VIEW = "logfleet-deadletter"

NOT_DEADLETTER = 'not data_stream.dataset : "logfleet.deadletter"'
ERRORS = 'log.level : ("error" or "fatal")'
VIOLATING = "logfleet.violations : *"
NON_COMPLIANT = 'logfleet.violations : * or data_stream.dataset : "logfleet.deadletter"'


def volume_over_time(object_id: str, title: str, description: str, split_field: str, size: int,
                     view: str = LOGS_VIEW, query: str = NOT_DEADLETTER, label: str = "Records") -> dict[str, Any]:
    """Records per time bucket, stacked by the top values of a field."""
    layer = f"{object_id}-layer"
    columns = {"time": date_histogram(), "records": count(label), "split": terms(split_field, size, "records")}
    return lens(
        object_id, title, description, "lnsXY", view, layer, columns, ["split", "time", "records"],
        xy(layer, "time", ["records"], split="split"), query,
    )


def error_rate() -> dict[str, Any]:
    layer = "logfleet-lens-error-rate-layer"
    columns = {"time": date_histogram(), **share_formula("rate", "Error rate", ERRORS)}
    return lens(
        "logfleet-lens-error-rate", "Error rate",
        "Share of log records at level error or fatal, per time bucket (dead letters excluded).",
        "lnsXY", LOGS_VIEW, layer, columns, ["time", "rate", "rateX0", "rateX1", "rateX2"],
        xy(layer, "time", ["rate"], series="line", legend="bottom", percent_axis=True), NOT_DEADLETTER,
    )


def top_containers() -> dict[str, Any]:
    layer = "logfleet-lens-top-containers-layer"
    columns = {
        "container": terms("container.name", 10, "records", label="Container"),
        "records": count("Records"),
        "errors": count("Errors", ERRORS),
    }
    return lens(
        "logfleet-lens-top-containers", "Top containers",
        "The ten containers that logged the most records, with how many of them were errors.",
        "lnsDatatable", LOGS_VIEW, layer, columns, ["container", "records", "errors"],
        datatable(layer, ["container", "records", "errors"], "records"), NOT_DEADLETTER,
    )


def non_compliant_share() -> dict[str, Any]:
    layer = "logfleet-lens-non-compliant-share-layer"
    columns = {
        "service": terms("service.name", 20, "records", label="Service", other=False),
        "records": count("Records"),
        "noncompliant": count("Non-compliant", NON_COMPLIANT),
        **share_formula("share", "Share non-compliant", NON_COMPLIANT),
    }
    visible = ["service", "records", "noncompliant", "share"]
    return lens(
        "logfleet-lens-non-compliant-share", "Share of non-compliant records per service",
        "Per service: all records (kept and dead-lettered), those with at least one format violation or "
        "dead-lettered, and their share.",
        "lnsDatatable", LOGS_VIEW, layer, columns, [*visible, "shareX0", "shareX1", "shareX2"],
        datatable(layer, visible, "share"), query="",
    )


def container_levels() -> dict[str, Any]:
    layer = "logfleet-lens-container-levels-layer"
    columns = {"level": terms("log.level", 6, "records", label="Level"), "records": count("Records")}
    return lens(
        "logfleet-lens-container-levels", "Levels",
        "Records by log level (pick a container in the control above).",
        "lnsPie", LOGS_VIEW, layer, columns, ["level", "records"], donut(layer, "level", "records"), NOT_DEADLETTER,
    )


def visualizations() -> list[dict[str, Any]]:
    return [
        volume_over_time(
            "logfleet-lens-volume-by-level", "Log volume by level",
            "Log records per time bucket, stacked by log.level (dead letters excluded).", "log.level", 6,
        ),
        volume_over_time(
            "logfleet-lens-volume-by-service", "Log volume by service",
            "Log records per time bucket, stacked by the ten busiest services (dead letters excluded).",
            "service.name", 10,
        ),
        error_rate(),
        top_containers(),
        volume_over_time(
            "logfleet-lens-violations-by-service", "Format violations by service",
            "Records with at least one format violation (kept or dead-lettered), per time bucket, by service.",
            "service.name", 10, query=VIOLATING, label="Records with violations",
        ),
        volume_over_time(
            "logfleet-lens-violations-by-reason", "Format violations by reason",
            "Format violations per time bucket by reason (a record with two reasons counts under both).",
            "logfleet.violations", 10, query=VIOLATING, label="Violations",
        ),
        non_compliant_share(),
        volume_over_time(
            "logfleet-lens-deadletters-by-reason", "Dead letters by reason",
            "Dead-lettered records per time bucket by their reason (error.type).", "error.type", 10,
            view=DEADLETTER_VIEW, query="", label="Dead letters",
        ),
        volume_over_time(
            "logfleet-lens-container-volume", "Volume by stream",
            "Records per time bucket, stdout and stderr (pick a container in the control above).", "stream", 2,
        ),
        container_levels(),
    ]


# ------------------------------------------------------------------------------------------ saved searches

INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


def saved_search(object_id: str, title: str, description: str, view: str, query: str,
                 columns: list[str]) -> dict[str, Any]:
    source = {"query": kql(query), "filter": [], "highlightAll": True, "indexRefName": INDEX_REF}
    attributes = {
        "title": title,
        "description": description,
        "hits": 0,
        "columns": columns,
        "sort": [["@timestamp", "desc"], ["event.sequence", "desc"]],
        "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps(source, sort_keys=True)},
    }
    return saved_object("search", object_id, attributes, [{"name": INDEX_REF, "type": "index-pattern", "id": view}])


def searches() -> list[dict[str, Any]]:
    return [
        saved_search(
            "logfleet-search-errors", "Errors", "Log records at level error or fatal, newest first.", LOGS_VIEW,
            f"{ERRORS} and {NOT_DEADLETTER}",
            ["service.name", "container.name", "host.name", "log.level", "message"],
        ),
        saved_search(
            "logfleet-search-format-violations", "Format violations",
            "Records that break the prescribed log format: kept with violations (warn) or dead-lettered (strict).",
            LOGS_VIEW, VIOLATING,
            ["service.name", "container.name", "logfleet.violations", "data_stream.dataset", "message"],
        ),
        saved_search(
            "logfleet-search-deadletters", "Dead letters",
            "Records that did not become normal events: the reason, all reasons, and where they came from.",
            DEADLETTER_VIEW, "",
            ["service.name", "container.name", "error.type", "logfleet.violations", "error.message"],
        ),
        saved_search(
            "logfleet-search-lines", "Log lines", "Every log line (dead letters excluded), newest first.", LOGS_VIEW,
            NOT_DEADLETTER, ["container.name", "stream", "log.level", "message"],
        ),
    ]


# ------------------------------------------------------------------------------------------- dashboards


def panel(
    index: str, kind: str, object_id: str, x: int, y: int, w: int, h: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """A by-reference panel and the dashboard reference that names its object."""
    body = {
        "version": KIBANA_MIN,
        "type": kind,
        "gridData": {"x": x, "y": y, "w": w, "h": h, "i": index},
        "panelIndex": index,
        "embeddableConfig": {"enhancements": {}},
        "panelRefName": f"panel_{index}",
    }
    return body, {"name": f"{index}:panel_{index}", "type": kind, "id": object_id}


def dashboard(object_id: str, title: str, description: str,
              panels: list[tuple[dict[str, Any], dict[str, str]]],
              control_field: str = "", time_from: str = "now-24h") -> dict[str, Any]:
    references = [ref for _, ref in panels]
    attributes: dict[str, Any] = {
        "title": title,
        "description": description,
        "panelsJSON": json.dumps([body for body, _ in panels], sort_keys=True),
        "optionsJSON": json.dumps(
            {"useMargins": True, "syncColors": False, "syncCursor": True, "syncTooltips": False,
             "hidePanelTitles": False},
            sort_keys=True,
        ),
        "version": 1,
        "timeRestore": True,
        "timeFrom": time_from,
        "timeTo": "now",
        "refreshInterval": {"pause": False, "value": 60000},
        "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": kql(""), "filter": []}, sort_keys=True)},
    }
    if control_field:
        control = f"{object_id}-control"
        explicit = {
            "id": control,
            "fieldName": control_field,
            "title": "Container",
            "singleSelect": True,
            "selectedOptions": [],
            "enhancements": {},
        }
        controls = {control: {"order": 0, "width": "large", "grow": True, "type": "optionsListControl",
                              "explicitInput": explicit}}
        ignore = {"ignoreFilters": False, "ignoreQuery": False, "ignoreTimerange": False, "ignoreValidations": False}
        attributes["controlGroupInput"] = {
            "controlStyle": "oneLine",
            "chainingSystem": "HIERARCHICAL",
            "panelsJSON": json.dumps(controls, sort_keys=True),
            "ignoreParentSettingsJSON": json.dumps(ignore, sort_keys=True),
        }
        references.append(
            {"name": f"controlGroup_{control}:optionsListDataView", "type": "index-pattern", "id": LOGS_VIEW}
        )
    return saved_object("dashboard", object_id, attributes, references)


def dashboards() -> list[dict[str, Any]]:
    return [
        dashboard(
            "logfleet-dashboard-overview", "Logs overview",
            "How much every service logs, at which levels, which containers are loudest, the error rate and the "
            "latest errors.",
            [
                panel("level", "lens", "logfleet-lens-volume-by-level", 0, 0, 24, 12),
                panel("service", "lens", "logfleet-lens-volume-by-service", 24, 0, 24, 12),
                panel("errorrate", "lens", "logfleet-lens-error-rate", 0, 12, 24, 12),
                panel("containers", "lens", "logfleet-lens-top-containers", 24, 12, 24, 12),
                panel("errors", "search", "logfleet-search-errors", 0, 24, 48, 16),
            ],
        ),
        dashboard(
            "logfleet-dashboard-compliance", "Format compliance",
            "Who breaks the prescribed log format: violations by service and by reason, the share of "
            "non-compliant records per service, and the dead-letter stream.",
            [
                panel("byservice", "lens", "logfleet-lens-violations-by-service", 0, 0, 24, 12),
                panel("byreason", "lens", "logfleet-lens-violations-by-reason", 24, 0, 24, 12),
                panel("share", "lens", "logfleet-lens-non-compliant-share", 0, 12, 24, 14),
                panel("dlqreasons", "lens", "logfleet-lens-deadletters-by-reason", 24, 12, 24, 14),
                panel("deadletters", "search", "logfleet-search-deadletters", 0, 26, 48, 14),
                panel("violations", "search", "logfleet-search-format-violations", 0, 40, 48, 14),
            ],
        ),
        dashboard(
            "logfleet-dashboard-container", "Container",
            "One container's logs: pick it in the Container control; volume by stream, levels and its latest lines.",
            [
                panel("volume", "lens", "logfleet-lens-container-volume", 0, 0, 32, 12),
                panel("levels", "lens", "logfleet-lens-container-levels", 32, 0, 16, 12),
                panel("lines", "search", "logfleet-search-lines", 0, 12, 48, 20),
            ],
            control_field="container.name",
            time_from="now-1h",
        ),
    ]


def build() -> list[dict[str, Any]]:
    """Every saved object, objects before the objects that refer to them."""
    views = [
        data_view(LOGS_VIEW, "logs-*", "logfleet: logs (logs-*)"),
        data_view(DEADLETTER_VIEW, "logs-logfleet.deadletter-*", "logfleet: dead letters"),
    ]
    return [*views, *searches(), *visualizations(), *dashboards()]


def render(objects: list[dict[str, Any]]) -> str:
    """The NDJSON text: one object per line, keys sorted, so the file diffs well."""
    return "".join(json.dumps(obj, sort_keys=True, ensure_ascii=False) + "\n" for obj in objects)


def main() -> int:
    text = render(build())
    if "--check" in sys.argv[1:]:
        current = OUTPUT.read_text() if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT} is out of date: run python {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {len(text.splitlines())} objects to {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
