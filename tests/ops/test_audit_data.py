"""Documents for the audit tests, made the way the pipeline makes them, written with ``_bulk``.

Where a test is about an audit query rather than the pipeline, it writes its records directly:
events come from the processor's own :class:`processor.events.EventBuilder` (so they have exactly
the shape the pipeline indexes), dead letters from :func:`logfleet.core.deadletter.bulk_lines`. Format
violations are added as ``logfleet.violations`` the way the format enforcement records them.
(tests/ops/test_audit_pipeline.py fills Elasticsearch from real containers instead.)
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from logfleet.clients import search
from logfleet.core import deadletter
from logfleet.core.config import Settings
from logfleet.core.model import format_ts
from processor.events import EventBuilder
from tests.support import cli_env

NS = 1_000_000_000
POLICY_LABEL = "logfleet.format"  # the container label that chooses the format policy


@dataclass(frozen=True)
class Line:
    """One log line of a container, as the shipper would have read it."""

    container: str
    ts_ns: int
    message: str
    level: str = "info"
    stream: str = "stdout"
    ordinal: int = 0
    service: str = ""
    host: str = "host-a"
    violations: tuple[str, ...] = ()
    stated_ns: int | None = None  # the time the line states for itself (it has none when None)

    @property
    def text(self) -> str:
        doc: dict[str, Any] = {"level": self.level, "message": self.message}
        if self.stated_ns is not None:
            doc["time"] = format_ts(self.stated_ns)
        return json.dumps(doc)

    @property
    def when(self) -> int:
        """Its ``@timestamp``: the time it states, else Docker's."""
        return self.ts_ns if self.stated_ns is None else self.stated_ns


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered record."""

    container: str
    ts_ns: int
    reason: str
    service: str
    violations: tuple[str, ...] = ()


@dataclass
class Bulk:
    """A ``_bulk`` body being assembled, and the ids of what it holds."""

    body: list[bytes] = field(default_factory=list)
    ids: dict[str, Line] = field(default_factory=dict)


def events_body(namespace: str, lines: list[Line]) -> Bulk:
    """``_bulk`` lines for events, one raw record per container and host, as the processor writes them."""
    builder = EventBuilder(namespace)
    groups: dict[tuple[str, str, str], list[Line]] = defaultdict(list)
    for line in lines:
        groups[(line.container, line.service, line.host)].append(line)
    bulk = Bulk()
    for (container, service, host), group in groups.items():
        meta = {
            "id": (container.encode().hex() * 8)[:64],
            "name": container,
            "image": "local/busybox",
            "image_tag": "1",
            "labels": {POLICY_LABEL: "off"},  # the test decides the violations, not the format checker
            "compose_service": service,
        }
        lines_json = [[x.ts_ns, x.ordinal, x.stream, x.text, []] for x in group]
        built: Any = builder.bulk_lines({"host": host, "container": meta, "lines": lines_json})
        raw = (built if isinstance(built, bytes) else built.events).splitlines()
        for action_line, doc_line, line in zip(raw[0::2], raw[1::2], group, strict=True):
            doc = orjson.loads(doc_line)
            pipeline = doc.setdefault("logfleet", {})
            pipeline.pop("violations", None)
            if line.violations:
                pipeline.update(violations=list(line.violations), policy="warn")
            bulk.body += [action_line, orjson.dumps(doc)]
            bulk.ids[doc["event"]["id"]] = line
    return bulk


def deadletters_body(namespace: str, letters: list[DeadLetter]) -> bytes:
    out = b""
    for i, letter in enumerate(letters):
        extra: dict[str, Any] = {
            "@timestamp": format_ts(letter.ts_ns),
            "service": {"name": letter.service},
            "container": {"name": letter.container},
        }
        if letter.violations:
            extra["logfleet"] = {"violations": list(letter.violations)}
        out += deadletter.bulk_lines(
            namespace, letter.reason, f"refused: {letter.reason}", f"raw line {i}", f"{letter.container}|{i}", extra
        )
    return out


async def write(settings: Settings, body: bytes, refresh: bool = True) -> None:
    """Send a ``_bulk`` body, fail on any item error, and (unless told not to) make it searchable now."""
    async with search.connect(settings, request_timeout=600) as engine:
        if body:
            answer = await engine.bulk(body)
            assert not answer.get("errors"), [i for i in answer["items"] if "error" in next(iter(i.values()))][:3]
        if refresh:
            await engine.refresh(f"logs-*-{settings.namespace}")


async def write_lines(
    settings: Settings, lines: list[Line], letters: list[DeadLetter] | None = None
) -> dict[str, Line]:
    """Write events (and dead letters); returns the event ids with the line each one is."""
    bulk = events_body(settings.namespace, lines)
    body = b"\n".join(bulk.body) + b"\n" if bulk.body else b""
    body += deadletters_body(settings.namespace, letters or [])
    await write(settings, body)
    return bulk.ids


def now_ns() -> int:
    return time.time_ns()


class Follower:
    """``logfleet audit follow`` running in the background, its output read as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.text = ""

    @classmethod
    async def start(cls, settings: Settings, *args: str) -> Follower:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "logfleet", "audit", "follow", "--interval", "0.3", *args,
            env=cli_env(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def until(self, lines: int = 0, text: str = "", within: float = 60) -> str:
        """Read output until it has ``lines`` complete lines and contains ``text``."""
        assert self.proc.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while self.text.count("\n") < lines or text not in self.text:
            chunk = await asyncio.wait_for(self.proc.stdout.read(65536), timeout=max(0.1, deadline - loop.time()))
            if not chunk:
                break
            self.text += chunk.decode()
        return self.text

    async def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(self.proc.communicate(), timeout=60)
        self.text += out.decode()
        return self.proc.returncode or 0, self.text, err.decode()


# ------------------------------------------------------------------------------------------ self-check


def _mapped_fields() -> set[str]:
    schema = Path(__file__).resolve().parents[2] / "schemas" / "elasticsearch" / "component-logfleet-ecs.json"
    fields: set[str] = set()

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, mapping in props.items():
            if "properties" in mapping:
                walk(mapping["properties"], f"{prefix}{name}.")
            else:
                fields.add(f"{prefix}{name}")

    walk(json.loads(schema.read_text())["template"]["mappings"]["properties"], "")
    return fields


def _leaves(doc: dict[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, value in doc.items():
        if isinstance(value, dict) and f"{prefix}{key}" not in ("container.labels", "labels", "app"):
            out |= _leaves(value, f"{prefix}{key}.")
        else:
            out.add(f"{prefix}{key}")
    return out


def test_the_made_documents_use_only_mapped_fields() -> None:
    lines = [Line("c1", 10 * NS, "hello", level="error", violations=("not_json",))]
    bulk = events_body("tdocs", lines)
    letters = deadletters_body("tdocs", [DeadLetter("c1", 11 * NS, "not_json", "svc", ("not_json",))])
    docs = [orjson.loads(x) for x in bulk.body[1::2]] + [orjson.loads(x) for x in letters.splitlines()[1::2]]
    mapped = _mapped_fields()
    for doc in docs:
        assert _leaves(doc) <= mapped, _leaves(doc) - mapped
    event = docs[0]
    assert event["log"]["level"] == "error" and event["message"] == "hello"
    assert event["logfleet"]["violations"] == ["not_json"]
    assert event["@timestamp"] == format_ts(10 * NS) and event["event"]["sequence"] == 0
    assert docs[1]["data_stream"]["dataset"] == deadletter.DATASET and docs[1]["error"]["type"] == "not_json"
