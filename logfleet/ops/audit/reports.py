"""Aggregated answers over a time window: volume (``stats``) and format compliance (``violations``).

Both run one search with ``size: 0`` over every stream of the namespace (log streams and the
dead-letter stream) and use only ``terms``, ``filter`` and ``missing`` aggregations, which every
Elasticsearch-compatible server answers (no composite, no percentiles). Records without a service or
a level are counted under ``(none)``.

Format compliance: a record is *non-compliant* when it carries at least one reason in
``logfleet.violations`` (kept under the ``warn`` policy) or was dead-lettered (under ``strict``, or
refused by Elasticsearch). Per service and reason the report counts kept records with that
violation and dead letters with it (a record with two reasons counts under both); per service it
gives all records, the non-compliant ones and their share.
"""

from __future__ import annotations

from typing import Any

from logfleet.clients.search import Engine
from logfleet.ops.audit.output import percent, table
from logfleet.ops.audit.search import DEADLETTER_CLAUSE, Filters, filter_clauses, require_data, streams, time_range

NONE = "(none)"
MAX_SERVICES = 1000
MAX_REASONS = 200


def _window(filters: Filters) -> dict[str, str]:
    bounds = time_range(filters.since, filters.until)
    return {"since": bounds.get("gte", ""), "until": bounds.get("lte", "now")}


def _terms(field: str, size: int, aggs: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"terms": {"field": field, "size": size}}
    if aggs:
        body["aggs"] = aggs
    return body


def _missing(field: str, aggs: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"missing": {"field": field}}
    if aggs:
        body["aggs"] = aggs
    return body


async def _aggregate(es: Engine, filters: Filters, aggs: dict[str, Any]) -> dict[str, Any]:
    answer = await es.search(
        streams(filters.namespace),
        query={"bool": {"filter": filter_clauses(filters)}},
        aggs=aggs,
        size=0,
        track_total_hits=True,
    )
    require_data(answer, filters)
    return dict(answer["aggregations"])


def _buckets(agg: dict[str, Any], missing: dict[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
    out = [(str(b["key"]), b) for b in agg.get("buckets", [])]
    if missing is not None and missing.get("doc_count", 0):
        out.append((NONE, missing))
    return out


# ----------------------------------------------------------------------------------------------- stats


async def stats(es: Engine, filters: Filters, top: int = 10) -> dict[str, Any]:
    """Log records in the window by service, level and container (dead letters counted apart)."""
    dimensions = {"service": "service.name", "level": "log.level", "container": "container.name"}
    kept_aggs: dict[str, Any] = {}
    for name, path in dimensions.items():
        kept_aggs[f"by_{name}"] = _terms(path, top)
        kept_aggs[f"no_{name}"] = _missing(path)
    aggs = {
        "kept": {"filter": {"bool": {"must_not": [DEADLETTER_CLAUSE]}}, "aggs": kept_aggs},
        "dead": {"filter": DEADLETTER_CLAUSE},
    }
    result = await _aggregate(es, filters, aggs)
    kept = result["kept"]
    total = int(kept["doc_count"])
    report: dict[str, Any] = {
        "window": _window(filters),
        "records": total,
        "dead_letters": int(result["dead"]["doc_count"]),
    }
    for name in dimensions:
        buckets = _buckets(kept[f"by_{name}"], kept[f"no_{name}"])
        entries: list[dict[str, Any]] = [{"key": key, "records": int(b["doc_count"])} for key, b in buckets]
        entries.sort(key=lambda e: (-e["records"], e["key"]))
        for entry in entries:
            entry["share"] = entry["records"] / total if total else 0.0
        report[f"by_{name}"] = entries
        report[f"other_{name}s"] = int(kept[f"by_{name}"].get("sum_other_doc_count", 0))
    return report


def stats_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The stats report as flat rows: dimension, key, records, share."""
    records = int(report["records"])
    rows: list[dict[str, Any]] = [
        {"dimension": "total", "key": "records", "records": records, "share": 1.0 if records else 0.0},
        {"dimension": "total", "key": "dead_letters", "records": report["dead_letters"], "share": None},
    ]
    for name in ("service", "level", "container"):
        rows += [
            {"dimension": name, "key": e["key"], "records": e["records"], "share": e["share"]}
            for e in report[f"by_{name}"]
        ]
        other = report[f"other_{name}s"]
        if other:
            share = other / report["records"] if report["records"] else 0.0
            rows.append({"dimension": name, "key": "(other)", "records": other, "share": share})
    return rows


def stats_table(report: dict[str, Any]) -> str:
    """The stats report for people."""
    window = report["window"]
    out = [
        f"window: {window['since'] or 'beginning'} .. {window['until']}",
        f"records: {report['records']}   dead letters: {report['dead_letters']}",
    ]
    for name in ("service", "level", "container"):
        rows = [[e["key"], e["records"], percent(e["share"])] for e in report[f"by_{name}"]]
        other = report[f"other_{name}s"]
        if other:
            rows.append(["(other)", other, percent(other / report["records"])])
        out.append("")
        out.append(table([name.upper(), "RECORDS", "SHARE"], rows, right=(1, 2)).rstrip("\n"))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------ violations


async def violations(es: Engine, filters: Filters) -> dict[str, Any]:
    """Per service and reason: kept records with violations, dead letters; per service: the share."""
    reasons = {
        "reasons": _terms("logfleet.violations", MAX_REASONS),
        "no_reason": _missing("logfleet.violations", {"types": _terms("error.type", MAX_REASONS)}),
    }
    per_service = {
        "kept": {
            "filter": {"bool": {"must_not": [DEADLETTER_CLAUSE]}},
            "aggs": {"violating": {"filter": {"exists": {"field": "logfleet.violations"}}, "aggs": reasons}},
        },
        "dead": {"filter": DEADLETTER_CLAUSE, "aggs": reasons},
    }
    aggs = {
        "services": _terms("service.name", MAX_SERVICES, per_service),
        "no_service": _missing("service.name", per_service),
    }
    result = await _aggregate(es, filters, aggs)
    services = []
    for name, bucket in _buckets(result["services"], result["no_service"]):
        services.append(_service_entry(name, bucket))
    services.sort(key=lambda s: (-s["share"], -s["non_compliant"], s["service"]))
    totals = {key: sum(s[key] for s in services) for key in ("records", "violating", "dead_letters", "non_compliant")}
    totals["share"] = totals["non_compliant"] / totals["records"] if totals["records"] else 0.0
    return {"window": _window(filters), "totals": totals, "services": services}


def _reason_counts(agg: dict[str, Any]) -> dict[str, int]:
    counts = {str(b["key"]): int(b["doc_count"]) for b in agg["reasons"].get("buckets", [])}
    for bucket in agg["no_reason"]["types"].get("buckets", []):  # dead letters without reasons: error.type
        counts[str(bucket["key"])] = counts.get(str(bucket["key"]), 0) + int(bucket["doc_count"])
    typed = sum(int(b["doc_count"]) for b in agg["no_reason"]["types"].get("buckets", []))
    unexplained = int(agg["no_reason"]["doc_count"]) - typed
    if unexplained > 0:
        counts[NONE] = counts.get(NONE, 0) + unexplained
    return counts


def _service_entry(name: str, bucket: dict[str, Any]) -> dict[str, Any]:
    violating = bucket["kept"]["violating"]
    kept_counts = _reason_counts(violating)
    kept_counts.pop(NONE, None)  # kept records without violations are compliant, not a reason
    dead_counts = _reason_counts(bucket["dead"])
    records = int(bucket["doc_count"])
    non_compliant = int(violating["doc_count"]) + int(bucket["dead"]["doc_count"])
    reasons: list[dict[str, Any]] = [
        {"reason": reason, "violations": kept_counts.get(reason, 0), "dead_letters": dead_counts.get(reason, 0)}
        for reason in sorted(set(kept_counts) | set(dead_counts))
    ]
    reasons.sort(key=lambda r: (-(r["violations"] + r["dead_letters"]), r["reason"]))
    return {
        "service": name,
        "records": records,
        "violating": int(violating["doc_count"]),
        "dead_letters": int(bucket["dead"]["doc_count"]),
        "non_compliant": non_compliant,
        "share": non_compliant / records if records else 0.0,
        "reasons": reasons,
    }


def violations_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The violations report as flat rows: one per service and reason (one with no reason if compliant)."""
    rows = []
    for s in report["services"]:
        common = {"records": s["records"], "non_compliant": s["non_compliant"], "share": s["share"]}
        for r in s["reasons"] or [{"reason": "", "violations": 0, "dead_letters": 0}]:
            rows.append({"service": s["service"], **r, **common})
    return rows


def violations_table(report: dict[str, Any]) -> str:
    """The violations report for people: the share per service, then the reasons."""
    window, totals = report["window"], report["totals"]
    out = [
        f"window: {window['since'] or 'beginning'} .. {window['until']}",
        f"records: {totals['records']}   non-compliant: {totals['non_compliant']} ({percent(totals['share'])})"
        f"   kept with violations: {totals['violating']}   dead letters: {totals['dead_letters']}",
        "",
    ]
    summary = [
        [s["service"], s["records"], s["violating"], s["dead_letters"], s["non_compliant"], percent(s["share"])]
        for s in report["services"]
    ]
    headers = ["SERVICE", "RECORDS", "VIOLATING", "DEAD LETTERS", "NON-COMPLIANT", "SHARE"]
    out.append(table(headers, summary, right=(1, 2, 3, 4, 5)).rstrip("\n"))
    detail = [
        [s["service"], r["reason"], r["violations"], r["dead_letters"]]
        for s in report["services"]
        for r in s["reasons"]
    ]
    if detail:
        out.append("")
        out.append(table(["SERVICE", "REASON", "VIOLATIONS", "DEAD LETTERS"], detail, right=(2, 3)).rstrip("\n"))
    return "\n".join(out) + "\n"
