"""Turn one raw record (many lines of one container) into Elasticsearch bulk lines: events and dead letters.

Each line becomes an ECS-shaped event. ``@timestamp`` is the time the line states for itself
(``Parsed.stated_time``, read by ``processor/parse/eventtime.py`` to the nanosecond, with Docker's time
as the reference that picks the year of year-less formats); ``event.created`` is always Docker's
receive time with nanoseconds, ``event.sequence`` the line's ordinal within it, ``event.id`` the
deterministic id that is also the document ``_id``. ``@timestamp`` is Docker's time when the line
states no time, or one that cannot be read, or one more than ``format_max_future_s`` (5 minutes)
ahead of Docker's or more than ``event_time_max_past_s`` (30 days) behind it; a refused time is kept
as written in ``logfleet.stated_time`` and the reason in ``logfleet.timestamp_rejected``
(``unparsable``, ``in_future``, ``too_old``). The past bound is wide because a line's own time is right
even when it arrives late: buffered or batch-written logs, containers that print old files; replays
and back-filled containers carry their original Docker time, so they do not even come near it. The
future bound is tight because no line can be written after it was received: a time ahead is a wrong
clock or zone. ``event.original`` is kept when it differs from ``message`` (for plain text the
message is the original line, and storing it twice would double the index). Container, host and
service fields come once per record. The output is the body of a ``_bulk`` request (a ``create``
action line and a document line per event), so the indexer can pass it to Elasticsearch without
decoding it again.

On the way every line is checked against the prescribed format under the container's policy (see
``processor/policy.py`` and ``processor/enforce.py``) and its secrets are masked (``processor/masking.py``).
Events carry ``logfleet.policy``, ``logfleet.schema`` and, when the line departs from the format,
``logfleet.violations``; lines of a known logger say which in ``logfleet.dialect``. The service may
come from the container (its ``logfleet.service`` label, else its Compose service). Under ``strict`` a
line that does not say when, how bad, what or who (an essential reason, see ``enforce.py``) becomes a
dead letter instead of an event: a document for
``logs-logfleet.deadletter-<namespace>`` with the first reason in ``error.type``, all of them in
``logfleet.violations``, the (masked) line in ``event.original``, Docker's time in ``event.created``
and the line's event id as seed, so a replay writes the same document id. A line that cannot be
processed at all (a malformed entry in the record, a bug) becomes a dead letter too: every line ends
as exactly one of the two.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections import Counter
from typing import Any

import orjson

from logfleet.core import deadletter
from logfleet.core.bulkbody import action_line, data_stream, dataset_for
from logfleet.core.model import event_id, format_ts
from processor.enforce import SCHEMA_VERSION, FormatChecker, is_essential
from processor.masking import Masker
from processor.parse import PARSER_LABEL, parse_line
from processor.parse.eventtime import NS, rejection, stated_time_ns
from processor.policy import PolicyResolver

SERVICE_LABEL = "logfleet.service"
MAX_PAST_S = 30 * 86_400.0  # how far behind Docker's time a stated time may be and still be @timestamp


def named_service(container: dict[str, Any]) -> str:
    """The service a container says it runs: its ``logfleet.service`` label or its Compose service ("" if none)."""
    labels = container.get("labels")
    label = labels.get(SERVICE_LABEL) if isinstance(labels, dict) else None
    return str(label or container.get("compose_service") or "")


def service_for(container: dict[str, Any]) -> str:
    """The ``service.name`` of a container when its lines do not name one (else its name)."""
    return named_service(container) or str(container.get("name") or "unknown")


def _object(doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        value = doc[key] = {}
    return value


def _safe_text(value: Any) -> str:
    """Any value as text that orjson can always encode (lone surrogates replaced)."""
    text = value if isinstance(value, str) else repr(value)
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclasses.dataclass(slots=True)
class Built:
    """What one raw record became: two ``_bulk`` bodies (``b""`` when empty) and their sizes."""

    events: bytes = b""
    dead_letters: bytes = b""
    event_count: int = 0
    dead_letter_count: int = 0


@dataclasses.dataclass(slots=True)
class _Record:
    """What every line of one raw record shares."""

    cid: str
    host: str
    service: str
    service_named: bool  # the container names its service (a label or Compose), not just its name
    policy: str
    dataset: str
    index: str
    ingested: str
    container: dict[str, Any]
    common_tail: bytes  # the fields every event of the record shares, as the end of a JSON object
    action_head: bytes = b""  # the create action line up to the _id value
    parser: str | None = None  # the container's logfleet.parser label, if any
    reasons: dict[tuple[str, ...], int] = dataclasses.field(default_factory=dict)  # lines per reason list


def _record_context(record: dict[str, Any], namespace: str, policies: PolicyResolver) -> _Record:
    container = record.get("container")
    if not isinstance(container, dict):
        container = {}
    labels = container.get("labels")
    if not isinstance(labels, dict):
        labels = {}
        container = {**container, "labels": labels}
    cid = str(container.get("id", ""))
    parser = labels.get(PARSER_LABEL)
    dataset = dataset_for(container)
    service = service_for(container)
    container_fields = {
        "id": cid,
        "name": container.get("name", ""),
        "image": {"name": container.get("image", ""), "tag": container.get("image_tag", "")},
        "labels": labels,
    }
    return _Record(
        cid=cid,
        host=str(record.get("host", "")),
        service=service,
        service_named=bool(named_service(container)),
        policy=policies.resolve(labels, service),
        dataset=dataset,
        index=data_stream(dataset, namespace),
        action_head=action_line(data_stream(dataset, namespace), "")[:-3],
        ingested=format_ts(time.time_ns()),
        container=container_fields,
        common_tail=orjson.dumps(
            {"container": container_fields, "data_stream": {"type": "logs", "dataset": dataset, "namespace": namespace}}
        )[1:],
        parser=parser if isinstance(parser, str) else None,
    )


class EventBuilder:
    """Builds events and dead letters for one namespace; between records it keeps only counters, and
    which containers are in the middle of printing a private key.

    ``violations`` counts lines per (reason, policy); ``dead_letter_reasons`` counts dead letters per
    first reason; the masker counts masked lines per kind. All their labels are closed sets.
    """

    def __init__(
        self,
        namespace: str,
        keep_original: bool = True,
        *,
        policies: PolicyResolver | None = None,
        checker: FormatChecker | None = None,
        masker: Masker | None = None,
        max_past_s: float = MAX_PAST_S,
    ) -> None:
        self.namespace = namespace
        self.max_past_ns = int(max_past_s * NS)
        self.keep_original = keep_original
        self.policies = policies or PolicyResolver()
        self.checker = checker or FormatChecker()
        self.masker = masker or Masker()
        self.violations: Counter[tuple[str, str]] = Counter()
        self.dead_letter_reasons: Counter[str] = Counter()

    def bulk_lines(self, record: dict[str, Any]) -> Built:
        """The ``_bulk`` bodies for every line of one decoded raw record; never raises for a bad line."""
        ctx = _record_context(record, self.namespace, self.policies)
        events: list[bytes] = []
        dead: list[bytes] = []
        for position, line in enumerate(record["lines"]):
            try:
                self._line(ctx, line, events, dead)
            except Exception as exc:  # one bad line must not stop the record, nor vanish
                dead.append(self._broken(ctx, line, position, exc))
        for shape, lines in ctx.reasons.items():
            for reason in shape:
                self.violations[reason, ctx.policy] += lines
        return Built(
            events=b"\n".join(events) + b"\n" if events else b"",
            dead_letters=b"".join(dead),
            event_count=len(events) // 2,
            dead_letter_count=len(dead),
        )

    def _line(self, ctx: _Record, line: Any, events: list[bytes], dead: list[bytes]) -> None:
        """Append one line's event (two bulk lines) to ``events``, or its dead letter to ``dead``."""
        ts, ordinal, stream, text, flags = line
        eid = event_id(ctx.cid, ts, stream, ordinal)
        text = self.masker.follow_key_blocks(ctx.cid, text)  # key material printed line by line
        parsed = parse_line(text, ctx.parser)
        stated = parsed.stated_time
        when, stated_ns, rejected = ts, None, None
        if stated is not None:
            stated_ns = stated_time_ns(stated, ts)
            rejected = rejection(stated_ns, ts, self.checker.max_future_ns, self.max_past_ns)
            if rejected is None and stated_ns is not None:
                when = stated_ns
        policy = ctx.policy
        reasons = self.checker.check(parsed, text, ts, stated_ns, ctx.service_named) if policy != "off" else []
        original = self.masker.mask_line(text, parsed)
        doc: dict[str, Any] = parsed.fields
        pipeline: dict[str, Any] = {"format": parsed.format, "policy": policy, "schema": SCHEMA_VERSION}
        if flags:
            pipeline["flags"] = flags
        if parsed.dialect is not None:
            pipeline["dialect"] = parsed.dialect
        if rejected is not None:
            pipeline["timestamp_rejected"] = rejected
            pipeline["stated_time"] = _safe_text(str(stated))
        if reasons:
            pipeline["violations"] = reasons
            shape = tuple(reasons)
            ctx.reasons[shape] = ctx.reasons.get(shape, 0) + 1
            if policy == "strict" and is_essential(reasons):
                dead.append(self._violation(ctx, doc, original, pipeline, (when, ts), stream, eid, ordinal))
                return
        _object(doc, "service").setdefault("name", ctx.service)
        _object(doc, "host")["name"] = ctx.host
        created = format_ts(ts)
        event = {"id": eid, "sequence": ordinal, "created": created, "ingested": ctx.ingested, "dataset": ctx.dataset}
        if type(doc.get("event")) is dict:  # a parser's own event fields come first, ours win
            event = {**doc["event"], **event}
        doc["event"] = event
        if self.keep_original and original is not None and doc.get("message") != original:
            event["original"] = original
        doc.update(logfleet=pipeline, stream=stream)
        doc["@timestamp"] = created if when == ts else format_ts(when)
        # Container metadata (labels can be dozens of long strings) is encoded once per record and
        # spliced in; a parsed line never has these two top-level keys, so no key appears twice.
        doc.pop("container", None)
        doc.pop("data_stream", None)
        body = orjson.dumps(doc)[:-1] + b"," + ctx.common_tail  # before the action: if it raises, nothing is half-added
        events.append(ctx.action_head + eid.encode() + b'"}}')
        events.append(body)

    def _violation(
        self,
        ctx: _Record,
        fields: dict[str, Any],
        original: str | None,
        pipeline: dict[str, Any],
        times: tuple[int, int],
        stream: str,
        eid: str,
        ordinal: int,
    ) -> bytes:
        """The dead letter of a line that does not say when, how bad, what or who under ``strict`` (with
        all a replay needs).

        ``times`` is the line's ``@timestamp`` (its stated time when usable) and Docker's time, which
        goes to ``event.created`` and is what a replay needs.
        """
        reasons: list[str] = pipeline["violations"]
        self.dead_letter_reasons[reasons[0]] += 1
        named = fields.get("service")
        name = named.get("name") if isinstance(named, dict) else None
        pipeline["target_index"] = ctx.index
        pipeline["event_id"] = eid  # the _id the line would have had as an event (for replays)
        extra: dict[str, Any] = {
            "@timestamp": format_ts(times[0]),
            "container": ctx.container,
            "host": {"name": ctx.host},
            "service": {"name": name if isinstance(name, str) else ctx.service},
            "stream": stream,
            "event": {"sequence": ordinal, "created": format_ts(times[1])},
            "logfleet": pipeline,
        }
        level = fields.get("log")
        if isinstance(level, dict) and isinstance(level.get("level"), str):
            extra["log"] = {"level": level["level"]}
        message = f"line breaks log format {SCHEMA_VERSION}: {', '.join(reasons)}"
        kept = original if original is not None else str(fields.get("message", ""))
        return deadletter.bulk_lines(self.namespace, reasons[0], message, kept, seed=eid, extra=extra)

    def _broken(self, ctx: _Record, line: Any, position: int, exc: Exception) -> bytes:
        """The dead letter of a line that could not be processed at all (never raises)."""
        self.dead_letter_reasons["unprocessable_line"] += 1
        try:
            original = orjson.dumps(line, default=repr).decode()
        except (TypeError, ValueError):
            original = repr(line)
        original = self.masker.mask_text(_safe_text(original), set())
        # The line's own id when it has one, else a hash of what it holds: a replay gives the same seed.
        try:
            seed = event_id(ctx.cid, line[0], line[2], line[1])
        except Exception:
            seed = hashlib.blake2b(f"{ctx.cid}|{position}|{original}".encode(), digest_size=16).hexdigest()
        message = _safe_text(f"line {position} of a raw record could not be processed: {type(exc).__name__}: {exc}")
        pipeline = {"schema": SCHEMA_VERSION, "policy": ctx.policy, "target_index": ctx.index, "event_id": seed}
        extra: dict[str, Any] = {"container": ctx.container, "host": {"name": ctx.host}, "logfleet": pipeline}
        reason = "unprocessable_line"
        try:
            return deadletter.bulk_lines(self.namespace, reason, message, original, seed=seed, extra=extra)
        except (TypeError, ValueError):  # container metadata orjson cannot encode
            extra = {"host": {"name": _safe_text(ctx.host)}}
            return deadletter.bulk_lines(self.namespace, reason, message, original, seed=seed, extra=extra)
