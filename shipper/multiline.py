"""Join stack traces and continuation lines into one record, per container stream.

Built-in rules recognise Java (``...Exception: msg`` then ``at ...``, ``Caused by:``, ``... N more``),
Python (``Traceback (most recent call last):``, indented frames, then the exception line) and Go
(``panic:``/``fatal error:`` then goroutine dumps). A container can instead name its own start
pattern with the label ``logfleet.multiline.start=<regex>``: a line matching it starts a record and
every other line continues the current one. ``logfleet.multiline=off`` turns joining off.

Only a line that may start a trace is held back, so ordinary lines pass straight through; a held
record is released when a line arrives that does not continue it, or ``flush_s`` after its last
line, so the last record of a burst is not kept waiting. A joined record keeps the timestamp and
ordinal of its first line (its identity) and reports the key of its last line, which is what the
shipper checkpoints so a resume does not split the record again.
"""

from __future__ import annotations

import re
import time

from shipper.frames import Line

START_LABEL = "logfleet.multiline.start"
SWITCH_LABEL = "logfleet.multiline"
MAX_JOINED_LINES = 1000

_JAVA_START = re.compile(r"(?:Exception|Error|Throwable)(?::|$)")
_JAVA_CONT = re.compile(r"^\s+at |^\s*\.\.\. \d+ (?:more|common frames omitted)|^\s*(?:Caused by|Suppressed): ")
_GO_CONT = re.compile(r"^$|^goroutine \d+ \[|^\t|^created by |^[\w./*()\[\]-]+\(.*\)$|^\[signal |^exit status ")

Key = tuple[int, int]
Released = tuple[list[Line], Key | None]
_TRIGGERS = (b"Exception", b"Error", b"Throwable", b"Traceback", b"panic: ", b"fatal error: ")


class _Pending:
    __slots__ = ("kind", "last_key", "line", "parts", "touched", "was_indented")

    def __init__(self, kind: str, line: Line) -> None:
        self.kind = kind
        self.line = line
        self.parts = [line[3]]
        self.last_key: Key = (line[0], line[1])
        self.touched = time.monotonic()
        self.was_indented = False


def _start_kind(text: str) -> str | None:
    if text.startswith("Traceback (most recent call last):"):
        return "python"
    if text.startswith(("panic: ", "fatal error: ")):
        return "go"
    if ("Exception" in text or "Error" in text or "Throwable" in text) and _JAVA_START.search(text):
        return "java"
    return None


class Joiner:
    """Multiline state of one container (both streams); feed lines in stream order."""

    def __init__(self, start_pattern: str | None = None, enabled: bool = True, flush_s: float = 1.0) -> None:
        self.enabled = enabled
        self.custom = re.compile(start_pattern) if start_pattern else None
        self.flush_s = flush_s
        self._pending: dict[str, _Pending] = {}

    @classmethod
    def for_labels(cls, labels: dict[str, str], flush_s: float = 1.0) -> Joiner:
        """A joiner configured by a container's labels (invalid custom patterns fall back to built-ins)."""
        enabled = labels.get(SWITCH_LABEL, "on").lower() not in ("off", "false", "0")
        pattern = labels.get(START_LABEL)
        try:
            return cls(pattern, enabled, flush_s)
        except re.error:
            return cls(None, enabled, flush_s)

    def may_start(self, chunk: bytes) -> bool:
        """Whether a chunk of the stream could hold a line that starts a record (cheap substring scan)."""
        return self.custom is not None or any(trigger in chunk for trigger in _TRIGGERS)

    def feed(self, lines: list[Line], may_start: bool = True) -> Released:
        """Lines in, records out, with the key of the last line of the last record (None if none).

        ``may_start=False`` (from :meth:`may_start`) promises that none of the lines starts a trace,
        which lets ordinary traffic through without a look at each line.
        """
        if not lines:
            return [], None
        if not self.enabled or (not may_start and not self._pending):
            last = lines[-1]
            return lines, (last[0], last[1])
        out: list[Line] = []
        last_key: Key | None = None
        for line in lines:
            pending = self._pending.get(line[2])
            if pending is not None and self._continues(pending, line[3]):
                pending.parts.append(line[3])
                pending.last_key = (line[0], line[1])
                pending.touched = time.monotonic()
                if len(pending.parts) >= MAX_JOINED_LINES:
                    last_key = self._release(line[2], out)
                continue
            if pending is not None:
                last_key = self._release(line[2], out)
            kind = ("custom" if self.custom.search(line[3]) else None) if self.custom else _start_kind(line[3])
            if kind is None:
                out.append(line)
                last_key = (line[0], line[1])
            else:
                self._pending[line[2]] = _Pending(kind, line)
        return out, last_key

    def expired(self, now: float | None = None) -> Released:
        """Release records whose last line is older than ``flush_s``."""
        now = time.monotonic() if now is None else now
        out: list[Line] = []
        last_key: Key | None = None
        for stream in [s for s, p in self._pending.items() if now - p.touched >= self.flush_s]:
            last_key = self._release(stream, out)
        return out, last_key

    def flush(self) -> Released:
        """Release everything held (end of stream)."""
        out: list[Line] = []
        last_key: Key | None = None
        for stream in list(self._pending):
            last_key = self._release(stream, out)
        return out, last_key

    def _continues(self, pending: _Pending, text: str) -> bool:
        kind = pending.kind
        if kind == "custom":
            assert self.custom is not None
            return not self.custom.search(text)
        if kind == "java":
            return bool(_JAVA_CONT.match(text))
        if kind == "python":
            if text[:1] in (" ", "\t"):
                pending.was_indented = True
                return True
            if pending.was_indented and text:
                pending.kind = "python-end"  # the exception line closes the traceback
                return True
            return False
        if kind == "go":
            return bool(_GO_CONT.match(text))
        return False  # python-end: the record is complete

    def _release(self, stream: str, out: list[Line]) -> Key:
        pending = self._pending.pop(stream)
        line = pending.line
        if len(pending.parts) > 1:
            line = [line[0], line[1], line[2], "\n".join(pending.parts), [*line[4], "multiline"]]
        out.append(line)
        return pending.last_key
