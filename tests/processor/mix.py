"""A realistic mix of container log lines, packed into raw records, for measuring the processor.

The mix follows the issue's description of a fleet: 40% lines in the prescribed format (JSON, ECS
names), 15% other JSON (``level``/``msg``/``time`` and application keys), 25% access log lines (the
real Apache combined log in ``../shared/corpora/elastic-examples/apache_logs/apache_logs``) and 20%
plain text, a quarter of which are joined Java and Go stack traces (from fluent-bit's
``documentation/examples/multiline/filter_multiline/test.log``). It is deterministic for a seed, so
"before" and "after" measurements run the very same lines.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson

from logfleet.core.model import format_ts

_BESIDE = Path(__file__).resolve().parents[3] / "shared" / "corpora"  # ../shared from the repository
CORPORA = _BESIDE if _BESIDE.is_dir() else Path("/work/shared/corpora")  # a worktree elsewhere
ACCESS_LOG = CORPORA / "elastic-examples/apache_logs/apache_logs"
MULTILINE = CORPORA / "fluent-bit/documentation/examples/multiline/filter_multiline/test.log"
BASE_NS = 1_709_294_400_000_000_000  # 2024-03-01T12:00:00Z
CONTAINER = {
    "id": "c0ffee" * 10 + "abcd",
    "name": "shop-api-1",
    "image": "registry.example/shop-api",
    "image_tag": "1.4.2",
    "labels": {"com.docker.compose.service": "shop-api"},
    "compose_project": "shop",
    "compose_service": "shop-api",
    "tty": False,
}

_WORDS = ["order", "cart", "user", "payment", "checkout", "session", "item", "stock", "invoice", "refund"]


def _traces() -> list[str]:
    """Two joined multi-line records: the Java exception and the first Go goroutine dump."""
    lines = MULTILINE.read_text().splitlines()
    java = "\n".join(lines[1:7])
    go_end = lines.index("", 10)
    go = "\n".join(lines[8:go_end])
    return [java, go]


def _prescribed(rng: random.Random, ts_ns: int) -> str:
    doc: dict[str, Any] = {
        "@timestamp": format_ts(ts_ns)[:23] + "Z",
        "log.level": rng.choice(["info", "info", "info", "debug", "warn", "error"]),
        "message": f"{rng.choice(_WORDS)} {rng.randrange(10**6)} processed in {rng.random() * 100:.2f} ms",
        "service.name": "shop-api",
        "trace.id": f"{rng.getrandbits(128):032x}",
        "span.id": f"{rng.getrandbits(64):016x}",
        "labels": {"tenant": rng.choice(["acme", "globex", "initech"]), "attempt": rng.randrange(3)},
    }
    if doc["log.level"] == "error":
        doc["error"] = {"type": "TimeoutError", "message": "upstream timed out"}
    return orjson.dumps(doc).decode()


def _other_json(rng: random.Random, ts_ns: int) -> str:
    return orjson.dumps(
        {
            "time": format_ts(ts_ns),
            "level": rng.choice(["INFO", "WARNING", "DEBUG"]),
            "msg": f"{rng.choice(_WORDS)} updated",
            "user_id": rng.randrange(10**5),
            "duration_ms": round(rng.random() * 50, 3),
            "path": f"/api/v1/{rng.choice(_WORDS)}s/{rng.randrange(1000)}",
        }
    ).decode()


def _plain(rng: random.Random, ts_ns: int, traces: list[str]) -> str:
    if rng.random() < 0.25:
        return rng.choice(traces)
    stamp = format_ts(ts_ns)[:23].replace("T", " ")
    level = rng.choice(["INFO", "INFO", "WARN", "ERROR", "DEBUG"])
    where = f"[worker-{rng.randrange(8)}] c.e.shop.{rng.choice(_WORDS).title()}Service"
    return f"{stamp} {level} {where} - done {rng.randrange(10**4)}"


def mix_lines(count: int, seed: int = 4) -> list[str]:
    """``count`` lines of the mix (see the module docstring), the same for the same seed."""
    rng = random.Random(seed)
    access = ACCESS_LOG.read_text().splitlines()
    traces = _traces()
    out: list[str] = []
    for i in range(count):
        ts_ns = BASE_NS + i * 1_000_000
        pick = rng.random()
        if pick < 0.40:
            out.append(_prescribed(rng, ts_ns))
        elif pick < 0.55:
            out.append(_other_json(rng, ts_ns))
        elif pick < 0.80:
            out.append(access[i % len(access)])
        else:
            out.append(_plain(rng, ts_ns, traces))
    return out


def raw_records(
    lines: list[str], per_record: int = 500, container: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The lines packed into decoded raw records, as ``logfleet.core.model.decode_raw`` returns them."""
    meta = container or CONTAINER
    records = []
    for start in range(0, len(lines), per_record):
        chunk = lines[start : start + per_record]
        packed = [[BASE_NS + (start + i) * 1_000_000, 0, "stdout", text, []] for i, text in enumerate(chunk)]
        records.append({"v": 1, "host": "bench-host", "container": meta, "lines": packed})
    return records
