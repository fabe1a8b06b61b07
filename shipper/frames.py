"""Turn the bytes of a Docker logs stream into complete log lines.

Non-TTY containers send a multiplexed stream: 8-byte headers (``>BxxxL``: stream 1 = stdout,
2 = stderr, then the payload size) each followed by one log message. A header may arrive split over
two socket reads, so the decoder keeps what it has not used. TTY containers send raw bytes, one
message per ``\\n``, with ``\\r\\n`` line ends. With ``timestamps=1`` every message starts with
Docker's RFC 3339 timestamp and a space. A message without a trailing ``\\n`` is a 16 KiB partial:
it is merged with the next ones of its stream into the original line, up to a cap past which the
line is cut and flagged ``truncated``. Bytes that are not UTF-8 are replaced visibly (U+FFFD) and
the line is flagged ``invalid_utf8``.

A line's ordinal is the number of lines before it, in stream order, with the very same timestamp.
stdout and stderr lines are timestamped by separate copiers, so stream order is not strictly time
order; counting per timestamp (not "equal to the previous line") keeps (timestamp, ordinal) unique
and the same on every read that starts at or before that timestamp.

Across a rotation of the json-file log, dockerd's follow stream sends again a run of lines it had
already sent (measured: from one to a few hundred lines per rotation). Each copier (stdout, stderr)
stamps its lines in order (and in practice never twice with the same nanosecond: no repeat in 200,000
lines written at full speed, TTY or not), so a line whose timestamp this read already counted and
which is older than the newest line of its own stream, or is that newest line again (same text), is
such a repeat: it is dropped (counted in ``replayed``) instead of getting the next ordinal and
becoming a second event.
"""

from __future__ import annotations

import struct
from typing import Any

from logfleet.core.model import SECOND_NS, parse_docker_ts

STREAMS = {1: "stdout", 2: "stderr"}
NO_FLAGS: tuple[str, ...] = ()  # shared by every clean line; flags are never mutated in place
_HEADER = struct.Struct(">BxxxL")
ORDINAL_HORIZON_NS = 100_000_000  # stdout/stderr skew is microseconds; 100 ms is ample
# Timestamps counted are pruned to the horizon once there are this many (or twice what the last
# prune kept): about 20 KB per container. At 4,096 a fleet of busy containers held ~0.3 MB each.
MIN_PRUNE_AT = 256
Line = list[Any]  # [ts_ns, ordinal, stream, text, flags]


class _Pending:
    __slots__ = ("parts", "size", "truncated", "ts")

    def __init__(self, ts: int) -> None:
        self.ts = ts
        self.parts: list[bytes] = []
        self.size = 0
        self.truncated = False


class LineAssembler:
    """Incremental decoder of one logs stream into ``[ts_ns, ordinal, stream, text, flags]`` lines."""

    def __init__(self, tty: bool, max_line_bytes: int = 1024 * 1024) -> None:
        self.tty = tty
        self.max_line_bytes = max_line_bytes
        self._buf = bytearray()
        self._pending: dict[str, _Pending] = {}
        self._last_ts = -1
        self._seen_at: dict[int, int] = {}
        self._prune_at = MIN_PRUNE_AT
        self._consumed = 0
        self._newest: dict[str, Line] = {"stdout": [-1], "stderr": [-1]}  # each stream's newest line so far
        self.bad_messages = 0
        self.replayed = 0

    def feed(self, data: bytes) -> list[Line]:
        """Consume bytes from the stream; return the lines they completed, in stream order."""
        buf = self._buf
        buf += data
        out: list[Line] = []
        pos = 0
        end = len(buf)
        if self.tty:
            while True:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    break
                self._message("stdout", bytes(buf[pos : nl + 1]), out)
                pos = nl + 1
        else:
            self._demux(bytes(buf), end, out)
            pos = self._consumed
        del buf[:pos]
        return out

    @property
    def timestamps_tracked(self) -> int:
        """How many recent timestamps are kept to number the lines that share one (bounded)."""
        return len(self._seen_at)

    def holding(self) -> bool:
        """Whether bytes were consumed that have not become lines yet (a partial frame or message)."""
        return bool(self._buf) or bool(self._pending)

    def _demux(self, data: bytes, end: int, out: list[Line]) -> None:
        # The hot loop: one iteration per log message. Complete lines with Docker's fixed-width
        # timestamp and no partial pending take the inline path; anything else goes to _message.
        pos = 0
        pending = self._pending
        seen = self._seen_at
        seconds_of = SECOND_NS
        unpack = _HEADER.unpack_from
        limit = self.max_line_bytes
        append = out.append
        newest = self._newest
        while end - pos >= 8:
            kind, size = unpack(data, pos)
            start = pos + 8
            stop = start + size
            if stop > end:
                break
            pos = stop
            stream = "stderr" if kind == 2 else "stdout"
            if (
                data[start + 30 : start + 31] == b" "
                and data[stop - 1 : stop] == b"\n"
                and data[start + 29 : start + 30] == b"Z"
                and size <= limit
                and not pending
            ):
                head = data[start : start + 19]
                second = seconds_of.get(head)
                if second is not None:
                    try:
                        text = data[start + 31 : stop - 1].decode()
                    except UnicodeDecodeError:
                        pass
                    else:
                        ts = second + int(data[start + 20 : start + 29])
                        ordinal = seen.get(ts, 0)
                        if ordinal and self._replayed(stream, ts, text):
                            continue
                        seen[ts] = ordinal + 1
                        line = [ts, ordinal, stream, text, NO_FLAGS]
                        if ts >= newest[stream][0]:
                            newest[stream] = line
                        if ts > self._last_ts:
                            self._last_ts = ts
                            if len(seen) > self._prune_at:
                                self._prune()
                                seen = self._seen_at
                        append(line)
                        continue
            self._message(stream, data[start:stop], out)
            seen = self._seen_at
        self._consumed = pos

    def _prune(self) -> None:
        horizon = self._last_ts - ORDINAL_HORIZON_NS
        self._seen_at = {t: n for t, n in self._seen_at.items() if t >= horizon}
        self._prune_at = max(MIN_PRUNE_AT, 2 * len(self._seen_at))

    def finish(self) -> list[Line]:
        """The stream ended: emit what is still pending (a last partial, or a TTY line with no newline)."""
        out: list[Line] = []
        if self.tty and self._buf:
            self._message("stdout", bytes(self._buf), out, final=True)
        self._buf.clear()
        for stream in list(self._pending):
            self._complete(stream, out)
        return out

    def _message(self, stream: str, payload: bytes, out: list[Line], final: bool = False) -> None:
        space = payload.find(b" ")
        try:
            ts = parse_docker_ts(payload[:space]) if space > 0 else -1
        except ValueError:
            ts = -1
        if ts < 0:
            # Not a timestamped message (never seen from a healthy daemon): keep it, timestamped now-ish.
            self.bad_messages += 1
            ts = max(self._last_ts, 0)
            body = payload
        else:
            body = payload[space + 1 :]
        complete = body.endswith(b"\n") or final
        if body.endswith(b"\n"):
            body = body[:-1]
            if self.tty and body.endswith(b"\r"):
                body = body[:-1]
        pending = self._pending.get(stream)
        if pending is None and complete:
            self._emit(ts, stream, body, [], out)
            return
        if pending is None:
            pending = self._pending[stream] = _Pending(ts)
        room = self.max_line_bytes - pending.size
        if len(body) > room:
            body = body[: max(room, 0)]
            pending.truncated = True
        if body:
            pending.parts.append(body)
            pending.size += len(body)
        if complete:
            self._complete(stream, out)

    def _complete(self, stream: str, out: list[Line]) -> None:
        pending = self._pending.pop(stream)
        flags = ["truncated"] if pending.truncated else []
        self._emit(pending.ts, stream, b"".join(pending.parts), flags, out)

    def _emit(self, ts: int, stream: str, body: bytes, flags: list[str], out: list[Line]) -> None:
        if len(body) > self.max_line_bytes:
            body = body[: self.max_line_bytes]
            flags = [*flags, "truncated"]
        try:
            text = body.decode()
        except UnicodeDecodeError:
            text = body.decode(errors="replace")
            flags = [*flags, "invalid_utf8"]
        seen = self._seen_at
        ordinal = seen.get(ts, 0)
        if ordinal and self._replayed(stream, ts, text):
            return
        seen[ts] = ordinal + 1
        if ts > self._last_ts:
            self._last_ts = ts
            if len(seen) > self._prune_at:
                self._prune()
        line = [ts, ordinal, stream, text, flags or NO_FLAGS]
        if ts >= self._newest[stream][0]:
            self._newest[stream] = line
        out.append(line)

    def _replayed(self, stream: str, ts: int, text: str) -> bool:
        """Whether a line whose timestamp this read already counted is one Docker sends again."""
        newest = self._newest[stream]
        if ts < newest[0] or (ts == newest[0] and text == newest[3]):
            self.replayed += 1
            return True
        return False
