"""Join stack traces, with the line that announced them, into one record, per container stream.

Built-in rules know these shapes (the state machines follow Google's fluent-plugin-detect-exceptions
and fluent-bit's multiline parsers):

- Java, Kotlin, Scala, JavaScript and C#: ``...Exception: msg`` (or ``Exception in thread "x" ...``,
  ``Unhandled exception. System.X: ...``, ``XException[msg]``) then ``at ...`` frames, ``Caused by:``,
  ``Suppressed:``, ``... N more``, ``nested exception is:`` with the nested exception on the next line,
  C#'s ``--- End of inner exception stack trace ---``, `` ---> `` and async
  ``--- End of stack trace from previous location ---``; a message may run over a few lines before
  the first frame;
- Python: ``Traceback (most recent call last):``, indented frames, the exception line, and chained
  exceptions (``During handling of the above exception, another exception occurred:``, ``The above
  exception was the direct cause of the following exception:``) with the blank lines between them;
- Go: ``panic:``/``fatal error:``/``http: panic serving ...`` then goroutine dumps (blank lines
  between goroutines kept), ``[signal ...]``, ``exit status N``; a zap development stack
  (``main.foo`` then ``\\t/path/file.go:12``) after its log line;
- PHP: ``PHP Fatal error:  Uncaught ...``, ``Stack trace:``, ``#N ...`` frames, ``thrown in ...``,
  ``Next ...`` (chained), Laravel's ``[stacktrace]``;
- Ruby: ``file.rb:6:in 'm': msg (Class)`` then ``from ...``; Rails' ``Class (msg):`` then frames;
- .NET's console logger: ``fail: Category[13]`` then its message lines indented by six blanks;
- PostgreSQL: ``DETAIL:``/``HINT:``/``STATEMENT:``/``CONTEXT:``/``QUERY:``/``LOCATION:`` lines with the
  same prefix as the line they belong to, and the tab-indented lines of a multi-line statement.

**The announcing line.** A line that states an error or warning level in its first 160 characters
(``ERROR``/``WARN``/``FATAL``/... standing alone, ``[error]``, a leading ``error:``, ``Error:``,
``level=error``, a klog ``E``/``W``/``F`` header) or ends with ``:`` is held as a candidate header:
if the next line of its stream starts a trace on its own (``java.lang.X: boom``, ``Traceback ...``,
not a line with a header of its own), the two start one record; otherwise the header is released
at once. A blank line or a line that may continue a record (Java's message lines before the first
frame, the blank line before a chained Python exception, one blank line between a header and its
trace) is held as *tentative*: it joins the record only if the record goes on after it, and is
released as its own line otherwise.

**Cost.** Per line the rules run only after a few substring tests on its lower-cased start (a JSON
object skips them): every trace start and every level word contains one of them.

**What is never glued.** The state is per stream, so interleaved stdout and stderr stay apart. A new
``Traceback``, a new exception line, or a new header after a complete trace starts a new record; only
the chaining lines above continue one. A record is cut at ``MAX_JOINED_LINES`` lines.

A container can instead name its own start pattern with the label ``logfleet.multiline.start=<regex>``:
a line matching it starts a record and every other line continues the current one.
``logfleet.multiline=off`` turns joining off.

Only lines that may start a record are held, so ordinary lines pass straight through; a held record
is released when a line arrives that does not continue it, or ``flush_s`` after its last line, so the
last record of a burst is not kept waiting. A joined record keeps the timestamp and ordinal of its
first line (its identity). What the joiner releases comes with the key the shipper may checkpoint:
the last line seen when nothing is held (so a resume does not split a record again), else the line
before the first record still held (so a resume never skips it, though the other stream's later
lines went out; those are sent again after a restart, and their event ids make that harmless).
"""

from __future__ import annotations

import re
import time
from typing import Final

from shipper.frames import Line

START_LABEL = "logfleet.multiline.start"
SWITCH_LABEL = "logfleet.multiline"
MAX_JOINED_LINES = 1000
MAX_TENTATIVE = 10
HEADER_WINDOW = 160

Key = tuple[int, int]
Released = tuple[list[Line], Key | None]

NO, TENTATIVE, COMMIT = 0, 1, 2

# Substrings at least one of which is in every line that can start or announce a record.
_TRIGGERS: Final = (
    b"rror", b"RROR", b"arn", b"ARN", b"atal", b"ATAL", b"crit", b"Crit", b"CRIT", b"SEVERE",
    b"xception", b"XCEPTION", b"Throwable", b"Traceback", b"panic", b"PANIC", b"goroutine ",
    b"fail", b"Fail", b"FAIL", b"PHP ", b".rb:", b"Stack trace", b"[stacktrace]", b":\n", b":\r\n",
    b"]\n", b"]\r\n", b":  ",
)  # fmt: skip
_LEVELS_ANY_CASE: Final = "error|err|warn|warning|fatal|crit|critical|severe|panic"
# A level stated as such: a capitalised word standing alone, a bracketed word, a leading "error:" (or
# .NET's "fail:"), a level=/severity= pair; "This is not an exception." or "0 errors" state none.
_LEVEL_TOKEN: Final = re.compile(
    r"(?<![\w.-])(?:ERROR|ERR|WARN|WARNING|FATAL|CRITICAL|CRIT|SEVERE|PANIC)(?![\w.-])"
    rf"|[\[(<] *(?i:{_LEVELS_ANY_CASE}) *[\])>]"
    rf"|^ *(?i:{_LEVELS_ANY_CASE}|fail) *:"
    r"|(?<![\w.-])(?:Error|Warning|Fatal|Critical)(?=:|  |\t| \|)"
    rf"|(?i:level|lvl|severity)\"? *[=:] *[\"']?(?i:{_LEVELS_ANY_CASE})\b"
)

_JAVA_START: Final = re.compile(r"(?:Exception|Error|Throwable)(?::|$|\[)")
_JAVA_BARE: Final = re.compile(
    r'\s*(?:Exception in thread "[^"]*" |Unhandled exception\. )?(?:[A-Za-z_$][\w$]*\.)*[\w$]*'
    r"(?:Exception|Error|Throwable)\b"
)
_JAVA_CONT: Final = re.compile(
    r"\s+(?:(?:eval )?at |--- End of inner exception stack trace ---)|\s*(?:Caused by|Suppressed|Wrapped by):"
    r"|\s*\.\.\. \d+ (?:more|common frames omitted)|--- End of stack trace from previous location|\s*---> "
)
_GO_GOROUTINE: Final = re.compile(r"goroutine \d+ \[[^\]]*\]:$")
_GO_FRAME: Final = re.compile(r"[\w$/*()\[\]{}.-]+\(.*\)$|[\w$/*()\[\]{}-]+(?:\.[\w$*()\[\]{}-]+)+$|created by ")
_GO_TAIL: Final = re.compile(r"\[signal |exit status \d+|\.\.\.additional frames elided\.\.\.")
_RUBY_UNCAUGHT: Final = re.compile(r"[^\s:]+\.rb:\d+:in [`'].*\([A-Z][\w:]*\)$")
_RAILS: Final = re.compile(r"\s*[A-Z]\w*(?:::[A-Z]\w*)* \(.*\):\s*$")
_RUBY_FRAME: Final = re.compile(r"\s+from |\s*\S.*:\d+:in [`']")
_PHP_START: Final = re.compile(r"PHP (?:Fatal error|Parse error|Warning|Notice):|exception '[^']+' with message '")
_PHP_CONT: Final = re.compile(r'Stack trace:|#\d+ |\[stacktrace\]|\s+thrown in |Next |"\}')
_DOTNET_HEADER: Final = re.compile(r"(?:trce|dbug|info|warn|fail|crit): \S+\[-?\d+\]")
_PG_SECONDARY: Final = re.compile(r"(?:DETAIL|HINT|STATEMENT|CONTEXT|QUERY|LOCATION):  ")
_PG_LINE: Final = re.compile(r"\] (?:\S+ )?(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]):  ")
_STAMP: Final = frozenset("0123456789[")  # a line that starts like this has a header of its own
_PY_CHAIN: Final = ("During handling of the above exception", "The above exception was the direct cause")


def _start(text: str) -> tuple[str, str, bool] | None:
    """``(kind, state, bare)`` if ``text`` starts a trace; ``bare`` when nothing stands before it."""
    if text.startswith("Traceback (most recent call last):"):
        return "python", "frames", True
    if text.startswith(("panic: ", "fatal error: ")):
        return "go", "panic", True
    if "http: panic serving " in text:
        return "go", "panic", text.startswith("http: ")
    if text.startswith("goroutine ") and _GO_GOROUTINE.match(text):
        return "go", "dump", True
    if ("PHP " in text or "exception '" in text) and _PHP_START.search(text):
        return "php", "start", text.startswith(("PHP ", "exception '"))
    if text.startswith(("Stack trace:", "[stacktrace]")):
        return "php", "frames", True
    if ".rb:" in text and _RUBY_UNCAUGHT.match(text):
        return "ruby", "frames", True
    if text.endswith(":") and _RAILS.fullmatch(text):
        return "ruby", "frames", True
    if text.lstrip(" +").startswith("Exception Group Traceback"):
        return "python", "frames", True
    if ("Exception" in text or "Error" in text or "Throwable" in text) and _JAVA_START.search(text):
        return "java", "exc", _JAVA_BARE.match(text) is not None
    if text[:1] in "tdiwfc" and text.endswith("]") and _DOTNET_HEADER.fullmatch(text):
        return "dotnet", "lines", False
    return None


def _kind(text: str) -> tuple[str, str] | None:
    """``(kind, state)`` of the record ``text`` may start: a trace, PostgreSQL's entry, or a header.

    Most lines are ruled out by a few substring tests on their start, lower-cased (JSON objects at
    once): every trace start and every level word contains one of them. A header states an error or
    warning level (``_LEVEL_TOKEN``), is a klog ``E``/``W``/``F`` line, or ends with a colon.
    """
    if text[:1] == "{":
        return None
    low = text[:HEADER_WINDOW].lower()
    worded = (
        "err" in low
        or "warn" in low
        or "exception" in low
        or "fail" in low
        or "fatal" in low
        or "panic" in low
        or "crit" in low
        or "traceback" in low
        or "goroutine" in low
        or "severe" in low
    )
    if worded or (text[4:6] == ": " and text[-1:] == "]"):  # the second: a .NET console logger header
        start = _start(text)
        if start is not None:
            return start[0], start[1]
    if ":  " in low and _PG_LINE.search(text, 0, 300):
        return "postgres", ""
    if text.rstrip().endswith(":") or (text[:1] in "EWF" and text[1:5].isdigit()):
        return "header", ""
    if worded and _LEVEL_TOKEN.search(text, 0, HEADER_WINDOW):
        return "header", ""
    return None


class _Pending:
    __slots__ = ("before", "kind", "line", "parts", "state", "tentative", "touched")

    def __init__(self, kind: str, state: str, line: Line, before: Key | None) -> None:
        self.before = before  # the line before this record's first, in stream order: the checkpoint's limit
        self.kind = kind
        self.state = state
        self.line = line
        self.parts = [line[3]]
        self.tentative: list[Line] = []
        self.touched = time.monotonic()


def _python(pending: _Pending, text: str) -> int:
    state = pending.state
    if not text.strip():
        return TENTATIVE
    if state == "frames":
        if text[0] in " \t":
            return COMMIT
        pending.state = "end"  # the exception line closes the traceback
        return COMMIT
    if text.startswith(_PY_CHAIN):
        pending.state = "chain"
        return COMMIT
    if state == "chain" and text.startswith("Traceback (most recent call last):"):
        pending.state = "frames"
        return COMMIT
    return NO


def _java(pending: _Pending, text: str) -> int:
    if _JAVA_CONT.match(text):
        pending.state = "exc" if text.lstrip().startswith(("Caused by", "Suppressed", "Wrapped by")) else "frames"
        return COMMIT
    if text.lstrip().startswith("nested exception is:"):
        pending.state = "nested"
        return COMMIT
    if pending.state == "nested" and _JAVA_START.search(text):
        pending.state = "exc"
        return COMMIT
    if not text.strip():
        return TENTATIVE
    if pending.state == "exc" and text[:1] not in _STAMP and _kind(text) is None:
        return TENTATIVE  # the exception message may run over a few lines before the first frame
    if text.startswith("Node.js v"):
        return COMMIT
    return NO


def _go(pending: _Pending, text: str) -> int:
    if not text:
        return TENTATIVE
    if text[0] in " \t" or text.startswith("goroutine ") or _GO_TAIL.match(text):
        pending.state = "dump"
        return COMMIT
    if pending.state == "dump" and _GO_FRAME.match(text):
        return COMMIT
    return NO


def _php(pending: _Pending, text: str) -> int:
    if _PHP_CONT.match(text):
        pending.state = "frames"
        return COMMIT
    if not text.strip() and pending.state == "frames":
        return TENTATIVE
    return NO


def _ruby(pending: _Pending, text: str) -> int:
    if _RUBY_FRAME.match(text):
        return COMMIT
    return TENTATIVE if not text.strip() else NO


def _postgres(pending: _Pending, text: str) -> int:
    found = _PG_SECONDARY.search(text) if ":  " in text else None
    if found is not None and pending.parts[0].startswith(text[: found.start()]):
        return COMMIT
    return COMMIT if text[:1] == "\t" else NO


def _dotnet(pending: _Pending, text: str) -> int:
    return COMMIT if text.startswith("      ") else NO


class Joiner:
    """Multiline state of one container (both streams); feed lines in stream order."""

    def __init__(self, start_pattern: str | None = None, enabled: bool = True, flush_s: float = 1.0) -> None:
        self.enabled = enabled
        self.custom = re.compile(start_pattern) if start_pattern else None
        self.flush_s = flush_s
        self._pending: dict[str, _Pending] = {}  # by stream, in the order the records began
        self._seen: Key | None = None  # the key of the last line fed, in stream order

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
        """Lines in, records out, with the checkpoint key they allow (None: no further than before).

        ``may_start=False`` (from :meth:`may_start`) promises that none of the lines starts a trace,
        which lets ordinary traffic through without a look at each line.
        """
        if not lines:
            return [], None
        if not self.enabled or (not may_start and not self._pending):
            last = lines[-1]
            self._seen = (last[0], last[1])
            return lines, self._seen
        out: list[Line] = []
        for line in lines:
            before, self._seen = self._seen, (line[0], line[1])
            pending = self._pending.get(line[2])
            if pending is not None:
                verdict = self._continues(pending, line[3])
                if verdict == COMMIT:
                    for held in pending.tentative:
                        pending.parts.append(held[3])
                    pending.tentative.clear()
                    pending.parts.append(line[3])
                    pending.touched = time.monotonic()
                    if len(pending.parts) >= MAX_JOINED_LINES:
                        self._release(line[2], out)
                    continue
                if verdict == TENTATIVE and len(pending.tentative) < MAX_TENTATIVE:
                    pending.tentative.append(line)
                    pending.touched = time.monotonic()
                    continue
                self._release(line[2], out)
            if self._hold(line, before) is None:
                out.append(line)
        return out, self._safe_key(out)

    def expired(self, now: float | None = None) -> Released:
        """Release records whose last line is older than ``flush_s``."""
        now = time.monotonic() if now is None else now
        out: list[Line] = []
        for stream in [s for s, p in self._pending.items() if now - p.touched >= self.flush_s]:
            self._release(stream, out)
        return out, self._safe_key(out)

    def flush(self) -> Released:
        """Release everything held (end of stream)."""
        out: list[Line] = []
        for stream in list(self._pending):
            self._release(stream, out)
        return out, self._safe_key(out)

    def _safe_key(self, out: list[Line]) -> Key | None:
        """The checkpoint for what was released: the last line seen when nothing is held, else the line
        before the first held record (None: no further than before), so that a restart never skips a
        record still held here while the other stream's later lines went out."""
        if not out:
            return None
        if self._pending:
            return next(iter(self._pending.values())).before  # held records in the order they began
        return self._seen

    def _hold(self, line: Line, before: Key | None) -> _Pending | None:
        """Start holding ``line`` if it may start a record (a trace or a header), else return None;
        ``before`` is the key of the line before it in stream order."""
        text = line[3]
        if self.custom is not None:
            if not self.custom.search(text):
                return None
            pending = self._pending[line[2]] = _Pending("custom", "", line, before)
            return pending
        kind = _kind(text)
        if kind is None:
            return None
        pending = self._pending[line[2]] = _Pending(kind[0], kind[1], line, before)
        return pending

    def _continues(self, pending: _Pending, text: str) -> int:
        kind = pending.kind
        if kind == "custom":
            assert self.custom is not None
            return NO if self.custom.search(text) else COMMIT
        if kind == "header":
            return self._after_header(pending, text)
        if kind == "python":
            return _python(pending, text)
        if kind == "java":
            return _java(pending, text)
        if kind == "go":
            return _go(pending, text)
        if kind == "php":
            return _php(pending, text)
        if kind == "ruby":
            return _ruby(pending, text)
        if kind == "dotnet":
            return _dotnet(pending, text)
        return _postgres(pending, text)

    @staticmethod
    def _after_header(pending: _Pending, text: str) -> int:
        """A held header joins a trace that starts bare on the next line (or a zap stack, or DETAIL:)."""
        start = _start(text)
        if start is not None and start[2]:
            pending.kind, pending.state = start[0], start[1]
            return COMMIT
        held = pending.tentative
        if held and held[-1][3]:  # a Go function name: a zap stack if its file line follows
            if text[:1] in " \t" and ".go:" in text:
                pending.kind, pending.state = "go", "dump"
                return COMMIT
            return NO
        if not text.strip():
            return NO if held else TENTATIVE  # one blank line may stand between header and trace
        if text[:1] not in " \t" and "." in text and _GO_FRAME.fullmatch(text) and "(" not in text:
            return TENTATIVE
        if ":  " in text and _postgres(pending, text) == COMMIT and text[:1] != "\t":
            pending.kind = "postgres"
            return COMMIT
        return NO

    def _release(self, stream: str, out: list[Line]) -> None:
        pending = self._pending.pop(stream)
        line = pending.line
        if len(pending.parts) > 1:
            line = [line[0], line[1], line[2], "\n".join(pending.parts), [*line[4], "multiline"]]
        out.append(line)
        out.extend(pending.tentative)
