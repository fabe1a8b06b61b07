"""Dead letters: find them, tell what became of them, and replay their lines into the raw topic.

A dead letter of a line (a format violation under ``strict``, a line the processor could not
process, an event Elasticsearch refused) keeps what names the line for ever: container id, Docker
timestamp in nanoseconds, stream and ordinal, whose hash (:func:`logfleet.core.model.event_id`) is the
``_id`` the line has as an event, and the text in ``event.original``; the Docker timestamp is
``event.created`` (``@timestamp`` is the line's own time when it states one). :func:`rebuild` turns it back
into a raw line and checks that the line's identity still hashes to that id, so a replayed line
that the processor now accepts (the policy became ``warn``, the schema or a bug was fixed) is
indexed under exactly the ``_id`` it would have had: Elasticsearch stores it once, however often it
is replayed (a second copy is a ``409``). The text is the one the dead letter kept, with its secrets
already masked; a line longer than the 256 KiB a dead letter keeps comes back cut and flagged
``truncated``.

Every dead letter has a state: ``resolved`` (its event is in its target data stream: nothing to do),
``replayed`` (sent again, its event not there yet: still being processed, or dead-lettered again),
``pending`` (never replayed) or ``not_replayable`` (a whole raw record that could not be read, a
document over Kafka's limit of which only the start was kept, or a line that cannot be rebuilt).
:func:`replay` sends the ``pending`` and ``replayed`` ones of a selection, oldest first, and records
``logfleet.replay`` (count, last time) in each dead letter it sent (an optimistic-concurrency write
to its backing index); ``resolved`` ones are never sent again, so replaying the same selection twice
after the pipeline caught up sends nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from typing import Any

import orjson

from logfleet.clients import kafka
from logfleet.clients.search import Engine
from logfleet.core import deadletter
from logfleet.core.bulkbody import data_stream, dataset_for
from logfleet.core.config import Settings
from logfleet.core.errors import DeliveryError, LogfleetError
from logfleet.core.model import ContainerMeta, encode_raw, event_id, format_ts, parse_docker_ts
from logfleet.ops.audit.search import Filters, check_namespace, filter_clauses, require_data

PAGE = 500
LINES_PER_RECORD = 1000
MARK_BATCH = 200
RECORD_BYTES = 4 * 1024 * 1024
MAX_ORDINAL_SEARCH = 1_000  # dead letters written before they kept event.sequence: find the ordinal
STATES = ("pending", "replayed", "resolved", "not_replayable")
UNREPLAYABLE = {  # reasons whose dead letter does not hold a whole line
    "unreadable_raw_record": "a whole raw record that could not be read, not a line",
    "too_large_for_kafka": "only the start of a document over Kafka's message limit was kept",
}


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which dead letters: empty fields do not filter; ``limit`` bounds how many are taken."""

    since: str = ""
    until: str = ""
    container: str = ""
    reason: str = ""
    limit: int = 1000


@dataclasses.dataclass(frozen=True)
class RebuiltLine:
    """A dead letter's line, rebuilt: the raw record it goes back in, and the event it becomes."""

    host: str
    container: dict[str, Any]  # ContainerMeta as JSON
    line: list[Any]  # [ts_ns, ordinal, stream, text, flags]
    event_id: str
    target_index: str


@dataclasses.dataclass
class DeadLetter:
    """One dead-letter document as found in Elasticsearch, and what can be done with it."""

    id: str
    index: str
    seq_no: int | None
    primary_term: int | None
    source: dict[str, Any]
    rebuilt: RebuiltLine | None = None
    why_not: str = ""  # why it cannot be replayed (when ``rebuilt`` is None)
    state: str = "pending"

    def row(self) -> dict[str, Any]:
        """What ``logfleet deadletter list`` prints about it."""
        src = self.source
        replayed = _get(src, "logfleet.replay") or {}
        return {
            "@timestamp": src.get("@timestamp"),
            "reason": _get(src, "error.type"),
            "container": _get(src, "container.name"),
            "container_id": _get(src, "container.id"),
            "service": _get(src, "service.name"),
            "state": self.state,
            "replays": int(replayed.get("count", 0)) if isinstance(replayed, dict) else 0,
            "last_replay": replayed.get("last") if isinstance(replayed, dict) else None,
            "event_id": self.rebuilt.event_id if self.rebuilt else _get(src, "logfleet.event_id"),
            "target_index": _get(src, "logfleet.target_index"),
            "message": src.get("message"),
            "original": _get(src, "event.original"),
            "why_not_replayable": self.why_not or None,
            "dead_letter_id": self.id,
        }


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _get(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def container_meta(fields: dict[str, Any]) -> dict[str, Any]:
    """A raw record's container metadata from the ``container`` fields of an event or dead letter
    (Compose project and service come from the labels, as the shipper takes them)."""
    labels = _mapping(fields.get("labels"))
    image = _mapping(fields.get("image"))
    return ContainerMeta(
        id=str(fields.get("id", "")),
        name=str(fields.get("name", "")),
        image=str(image.get("name", "")),
        image_tag=str(image.get("tag", "")),
        labels={str(k): str(v) for k, v in labels.items()},
        compose_project=str(labels.get("com.docker.compose.project", "")),
        compose_service=str(labels.get("com.docker.compose.service", "")),
    ).as_json()


def _docker_time(doc: dict[str, Any]) -> Any:
    """Docker's receive time of a line: ``event.created`` (``@timestamp`` may be the line's own time), or
    ``@timestamp`` in documents written before events had ``event.created`` (it was Docker's time then)."""
    created = _get(doc, "event.created")
    return created if created is not None else doc["@timestamp"]


def rebuild(source: dict[str, Any]) -> RebuiltLine | str:
    """The raw line a dead letter came from, or a one-line reason why it cannot be rebuilt."""
    reason = str(_get(source, "error.type") or "")
    original = _get(source, "event.original")
    if reason in UNREPLAYABLE:
        return UNREPLAYABLE[reason]
    if not isinstance(original, str):
        return "no event.original"
    expected = _get(source, "logfleet.event_id")
    target = str(_get(source, "logfleet.target_index") or "")
    try:
        if reason.startswith("es_"):  # an event Elasticsearch refused: event.original is the event
            event = orjson.loads(original)
            fields, expected = event, _get(event, "event.id")
            ts = parse_docker_ts(str(_docker_time(event)).encode())
            ordinal = _get(event, "event.sequence")
            text = _get(event, "event.original") or event.get("message")
            stream, flags = event.get("stream"), _get(event, "logfleet.flags") or []
        elif reason == "unprocessable_line":  # event.original is the raw line as JSON
            fields = source
            ts, ordinal, stream, text, flags = orjson.loads(original)
        else:  # a format violation: the line's parts are fields of the dead letter
            fields, text = source, original
            ts = parse_docker_ts(str(_docker_time(source)).encode())
            ordinal, stream = _get(source, "event.sequence"), source.get("stream")
            flags = _get(source, "logfleet.flags") or []
    except (ValueError, KeyError, TypeError) as exc:
        return f"the line cannot be read back: {type(exc).__name__}: {exc}"
    container = fields.get("container")
    cid = _get(container, "id")
    if not (isinstance(cid, str) and cid and isinstance(stream, str) and isinstance(text, str)):
        return "container id, stream or text missing"
    if not isinstance(expected, str) or not expected:
        return "no event id to replay it under"
    if not isinstance(ordinal, int):  # written before dead letters kept event.sequence
        ordinal = next((n for n in range(MAX_ORDINAL_SEARCH) if event_id(cid, ts, stream, n) == expected), None)
        if ordinal is None:
            return "no event.sequence, and no ordinal gives its event id"
    if not isinstance(ts, int) or event_id(cid, ts, stream, ordinal) != expected:
        return "its container, timestamp, stream and ordinal do not give its event id"
    flags = [str(f) for f in flags] if isinstance(flags, list) else []
    if len(text) >= deadletter.MAX_ORIGINAL and "truncated" not in flags:
        flags.append("truncated")
    meta = _meta_for(_mapping(container), target)
    if meta is None:
        return f"its container metadata no longer leads to {target}"
    host = str(_get(fields, "host.name") or "")
    return RebuiltLine(host, meta, [ts, ordinal, stream, text, flags], expected, target)


def _meta_for(container: dict[str, Any], target: str) -> dict[str, Any] | None:
    """The raw record's container metadata that makes the processor choose ``target`` again (the
    data stream, hence the same place for the same _id): the Compose service comes from the labels
    as the shipper takes it, or is left out when the line's stream says it was not known."""
    meta = container_meta(container)
    if not target:
        return meta
    namespace = target.rsplit("-", 1)[-1]  # namespaces hold no "-"
    for service in dict.fromkeys((meta["compose_service"], "")):
        candidate = {**meta, "compose_service": service}
        if target == data_stream(dataset_for(candidate), namespace):
            return candidate
    return None


def _query(selection: Selection) -> dict[str, Any]:
    clauses = filter_clauses(Filters(container=selection.container, since=selection.since, until=selection.until))
    if selection.reason:
        clauses.append({"term": {"error.type": selection.reason}})
    return {"bool": {"filter": clauses}}


async def find(
    es: Engine, namespace: str, selection: Selection, *, skipped: list[DeadLetter] | None = None
) -> list[DeadLetter]:
    """Dead letters of the selection, oldest first, with their state; at most ``selection.limit``.

    With ``skipped`` only those a replay would send (``pending``, ``replayed``) are returned and
    count towards the limit, so a limited replay repeated moves on instead of meeting the same
    resolved ones again; the others met on the way are appended to ``skipped``.
    """
    index = deadletter.stream_name(check_namespace(namespace))
    found: list[DeadLetter] = []
    after: list[Any] | None = None
    while len(found) < selection.limit:
        answer = await es.search(
            index,
            query=_query(selection),
            sort=[{"@timestamp": {"order": "asc"}}, {"event.id": {"order": "asc"}}],
            size=PAGE,
            search_after=after,
            seq_no_primary_term=True,
        )
        require_data(answer, Filters(namespace=namespace, dead_letters=True))
        hits = answer["hits"]["hits"]
        page = [_dead_letter(hit) for hit in hits]
        await _resolve(es, page)
        for letter in page:
            if skipped is None or letter.state in ("pending", "replayed"):
                found.append(letter)
            elif len(found) < selection.limit:
                skipped.append(letter)
        if len(hits) < PAGE:
            break
        after = hits[-1]["sort"]
    return found[: selection.limit]


def _dead_letter(hit: dict[str, Any]) -> DeadLetter:
    source = dict(hit["_source"])
    found = DeadLetter(str(hit["_id"]), str(hit["_index"]), hit.get("_seq_no"), hit.get("_primary_term"), source)
    rebuilt = rebuild(source)
    if isinstance(rebuilt, str):
        found.why_not, found.state = rebuilt, "not_replayable"
    else:
        found.rebuilt = rebuilt
        found.state = "replayed" if _get(source, "logfleet.replay.count") else "pending"
    return found


async def _resolve(es: Engine, letters: list[DeadLetter]) -> None:
    """Mark as ``resolved`` the dead letters whose event is in their target stream."""
    by_index: dict[str, list[DeadLetter]] = {}
    for letter in letters:
        if letter.rebuilt and letter.rebuilt.target_index:
            by_index.setdefault(letter.rebuilt.target_index, []).append(letter)
    for index, group in by_index.items():
        ids = sorted({letter.rebuilt.event_id for letter in group if letter.rebuilt})
        answer = await es.search(index, query={"ids": {"values": ids}}, size=len(ids), source=False)
        there = {hit["_id"] for hit in answer["hits"]["hits"]}
        for letter in group:
            if letter.rebuilt and letter.rebuilt.event_id in there:
                letter.state = "resolved"


def raw_records(lines: list[RebuiltLine]) -> list[tuple[bytes, bytes]]:
    """(key, value) raw records for the lines: one container's lines together, in their order,
    keyed by container id as the shipper keys them."""
    by_container: dict[tuple[str, str], list[RebuiltLine]] = {}
    for line in lines:
        by_container.setdefault((line.host, str(line.container["id"])), []).append(line)
    records: list[tuple[bytes, bytes]] = []
    for (host, cid), group in by_container.items():
        group.sort(key=lambda item: (item.line[0], item.line[1]))
        chunk: list[list[Any]] = []
        size = 0
        for item in group:
            if chunk and (len(chunk) >= LINES_PER_RECORD or size + len(item.line[3]) > RECORD_BYTES):
                records.append((cid.encode(), encode_raw(host, group[0].container, chunk)))
                chunk, size = [], 0
            chunk.append(item.line)
            size += len(item.line[3])
        records.append((cid.encode(), encode_raw(host, group[0].container, chunk)))
    return records


async def replay(
    settings: Settings, es: Engine, selection: Selection, *, dry_run: bool = False
) -> dict[str, Any]:
    """Send the selection's replayable dead letters back to the raw topic (unless ``dry_run``) and
    record the replay in each of them; returns what was found, sent and marked."""
    skipped: list[DeadLetter] = []
    chosen = await find(es, settings.namespace, selection, skipped=skipped)
    records = raw_records([d.rebuilt for d in chosen if d.rebuilt])
    report: dict[str, Any] = {
        "dry_run": dry_run,
        "topic": settings.topic_raw,
        "selected": len(chosen),
        "records": len(records),
        "skipped": {state: sum(1 for d in skipped if d.state == state) for state in ("resolved", "not_replayable")},
        "not_replayable": dict(Counter(d.why_not for d in skipped if d.why_not)),
        "sent": 0,
        "marked": 0,
        "mark_conflicts": 0,
        "lines": [d.row() for d in chosen],
    }
    if dry_run or not records:
        return report
    async with kafka.producer(settings) as producer:
        try:
            futures = [await producer.send(settings.topic_raw, value=value, key=key) for key, value in records]
            for future in futures:
                await future
        except Exception as exc:  # aiokafka's errors: nothing is marked, the replay can be repeated
            raise DeliveryError(f"replay to {settings.topic_raw} failed: {type(exc).__name__}: {exc}") from exc
    report["sent"] = len(chosen)
    report["marked"], report["mark_conflicts"] = await _mark(es, chosen)
    return report


async def _mark(es: Engine, letters: list[DeadLetter]) -> tuple[int, int]:
    """Record the replay in each dead letter (count, last time), only if it did not change meanwhile."""
    body: list[bytes] = []
    now = format_ts(time.time_ns())
    for letter in letters:
        doc = dict(letter.source)
        pipeline = dict(doc.get("logfleet") or {})
        before = _mapping(pipeline.get("replay"))
        pipeline["replay"] = {"count": int(before.get("count", 0)) + 1, "last": now}
        doc["logfleet"] = pipeline
        action: dict[str, Any] = {"_index": letter.index, "_id": letter.id}
        if letter.seq_no is not None and letter.primary_term is not None:
            action.update(if_seq_no=letter.seq_no, if_primary_term=letter.primary_term)
        body += [orjson.dumps({"index": action}), orjson.dumps(doc)]
    statuses: list[int] = []
    for start in range(0, len(body), 2 * MARK_BATCH):  # dead letters keep up to 256 KiB each
        answer = await es.bulk(b"\n".join(body[start : start + 2 * MARK_BATCH]) + b"\n")
        statuses += [int(next(iter(item.values())).get("status", 500)) for item in answer.get("items", [])]
    failed = [s for s in statuses if s >= 300 and s != 409]
    if failed:
        raise LogfleetError(f"recording the replay in {len(failed)} dead letters failed (status {failed[0]})")
    # Searches see a write only after a refresh: without one, a replay right after this one would read
    # the old counts and sequence numbers, and its marks would all be refused as conflicts.
    await es.refresh(sorted({letter.index for letter in letters}))
    return sum(1 for s in statuses if s < 300), statuses.count(409)
