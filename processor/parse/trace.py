"""Stack traces in a joined record: where the trace starts, what it names, and the fields it gives.

The shipper joins a trace with the line that announced it (``shipper/multiline.py``), so a record can
be ``HEADER\\nTRACE`` or ``TRACE`` alone. :func:`find_trace` looks at the first four lines for the line
that starts a trace:

- Python: ``Traceback (most recent call last):`` (and ``+ Exception Group Traceback``); the exception
  is the last line that is not indented (the one raised last, after any ``During handling of the above
  exception`` / ``The above exception was the direct cause`` chain);
- Java, Kotlin, Scala, JavaScript, C#: a line naming ``...Exception``/``...Error``/``...Throwable``
  (``Exception in thread "main" java.lang.X: msg``, ``Unhandled exception. System.X: msg``,
  ``TypeError: x``, Elasticsearch's ``XException[msg]``) followed by frames (``at ...``, ``Caused by:``,
  ``--- End of ...``, `` ---> ``, ``nested exception is:``);
- Go: ``panic: msg``, ``fatal error: msg``, ``http: panic serving ADDR: msg``, a bare ``goroutine N [...]:``
  dump, or a zap development stack (``main.foo`` then ``\\t/path/file.go:12``);
- PHP: ``PHP Fatal error:  Uncaught X: msg in /f.php:3``, ``exception 'X' with message 'msg'``, a
  ``Stack trace:`` or Laravel ``[stacktrace]`` line;
- Ruby: ``/app/x.rb:6:in 'm': msg (ZeroDivisionError)`` then ``from ...``; Rails' ``NoMethodError (msg):``.

:func:`apply` then sets ``error.type``, ``error.message``, ``error.stack_trace`` (the record from the
trace's first line on) and, when the header states none, ``log.level`` (``fatal`` for a Go crash,
``error`` otherwise); ``message`` becomes the header's message, or the exception line when the trace
has no header.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Final

from processor.parse.model import Parsed

SCAN_LINES: Final = 4

# How an exception class name ends; after it come ": msg", "[msg]" (Elasticsearch), " ---> " (C#) or
# the line end. str.find on these words is several times faster than a regex alternation.
_JAVA_SUFFIXES: Final = ("Exception", "Error", "Throwable", "Fault")
_CLASS_CHARS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$."
_JAVA_FRAME: Final = re.compile(
    r"\s+(?:at |--- End of )|\s*(?:Caused by|Suppressed|Wrapped by): |\s*---> |\s*nested exception is:"
    r"|\s*\.\.\. \d+ more",
    re.ASCII,
)
_PY_EXCEPTION: Final = re.compile(r"(?P<type>[A-Za-z_][\w.]*)(?:: (?P<msg>.*))?", re.DOTALL)
_PY_CHAIN: Final = ("During handling of the above exception", "The above exception was the direct cause")
_GO_HTTP: Final = re.compile(r"http: panic serving \S+: (?P<msg>.*)")
_GO_FUNC: Final = re.compile(r"[\w$/*()\[\]{}-]+(?:\.[\w$*()\[\]{}-]+)+", re.ASCII)
_GO_GOROUTINE: Final = re.compile(r"goroutine \d+ \[[^\]]*\]:$", re.ASCII)
_PHP_UNCAUGHT: Final = re.compile(
    r"Uncaught (?:(?P<type>[\w\\]+): (?P<msg>.*?)|exception '(?P<qtype>[\w\\]+)' with message '(?P<qmsg>.*)')"
    r"(?: in \S+(?::\d+| on line \d+))?$"
)
_PHP_QUOTED: Final = re.compile(r"exception '(?P<type>[\w\\]+)' with message '(?P<msg>.*)' in \S+$")
_PHP_LEVEL: Final = re.compile(r"PHP (?P<kind>Fatal error|Parse error|Warning|Notice|Deprecated):")
_LARAVEL: Final = re.compile(r"\[object\] \((?P<type>[\w\\]+)\(code: -?\d+\): (?P<msg>.*) at \S+\)$")
_RUBY_UNCAUGHT: Final = re.compile(r"\.rb:\d+:in [`'][^`']*': (?P<msg>.*) \((?P<type>[A-Z][\w:]*)\)$")
_RAILS: Final = re.compile(r"\s*(?P<type>[A-Z][\w]*(?:::[A-Z]\w*)*) \((?P<msg>.*)\):\s*$")
_PHP_KIND_LEVEL: Final = {"Warning": "warn", "Notice": "info", "Deprecated": "info"}


@dataclasses.dataclass(slots=True)
class Trace:
    """Where a trace starts in a record's lines and what it says."""

    start: int
    kind: str
    error_type: str | None = None
    error_message: str | None = None
    exception_line: str | None = None
    level: str | None = "error"
    bare: bool = False  # the record's first line is the trace's own first line, with nothing before it


def _named_at(line: str, end: int) -> tuple[str, str | None] | None:
    """The exception class ending at ``end`` and its message, if what follows fits one."""
    rest = line[end:]
    if rest and rest[0] == ":" and (len(rest) == 1 or rest[1] == " "):
        message: str | None = rest[2:].split(" ---> ", 1)[0] or None
    elif rest and rest[0] == "[":
        if not rest.endswith("]"):
            return None
        message = rest[1:-1]
    elif not rest or rest.startswith(" ---> "):
        message = None
    else:
        return None
    begin = len(line[:end].rstrip(_CLASS_CHARS))  # back to the start of the class name
    if line[begin : begin + 1] == ".":
        return None
    return line[begin:end], message


def _exception(line: str) -> tuple[str, str | None] | None:
    """The first exception class named in ``line`` and the message after it, or ``None``."""
    best: tuple[int, tuple[str, str | None]] | None = None
    for word in _JAVA_SUFFIXES:
        at = line.find(word)
        while at >= 0 and (best is None or at < best[0]):
            end = at + len(word)
            if line[end : end + 1] in ("", ":", "[") or line.startswith(" ---> ", end):
                named = _named_at(line, end)
                if named is not None:
                    best = (at, named)
                    break
            at = line.find(word, end)
    return None if best is None else best[1]


def _java(lines: list[str], index: int) -> Trace | None:
    line = lines[index]
    if "Exception" not in line and "Error" not in line and "Throwable" not in line and "Fault" not in line:
        return None
    for following in lines[index + 1 : index + 4]:
        if following.strip():
            break
    else:
        return None
    if _JAVA_FRAME.match(following) is None:
        return None
    named = _exception(line)
    if named is None:
        return None
    stripped = line.strip()
    bare = stripped.startswith((named[0], 'Exception in thread "', "Unhandled exception. "))
    return Trace(index, "java", named[0], named[1], stripped, bare=bare)


def _python(text: str, index: int) -> Trace:
    """The exception is the last line that is not indented (scanned from the end of the record)."""
    end = len(text)
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        line = text[start:end]
        end = start - 1
        if not line or line[0] in " \t" or line.startswith(_PY_CHAIN) or line.startswith("Traceback ("):
            continue
        if start == 0:
            break  # the first line: the traceback header or the header of the record
        match = _PY_EXCEPTION.fullmatch(line)
        if match is None:
            return Trace(index, "python", None, line, line, bare=True)
        return Trace(index, "python", match.group("type"), match.group("msg"), line, bare=True)
    return Trace(index, "python", bare=True)


def _go(line: str, index: int) -> Trace | None:
    if line.startswith("panic: "):
        return Trace(index, "go", "panic", line[7:], line, "fatal", bare=True)
    if line.startswith("fatal error: "):
        return Trace(index, "go", "fatal error", line[13:], line, "fatal", bare=True)
    if "http: panic serving " in line:
        found = _GO_HTTP.search(line)
        return Trace(index, "go", "panic", found.group("msg") if found else None, line, bare=line.startswith("http: "))
    if line.startswith("goroutine ") and _GO_GOROUTINE.match(line) is not None:
        return Trace(index, "go", None, None, None, None, bare=True)
    return None


def _php(lines: list[str], index: int) -> Trace | None:
    line = lines[index]
    kind = _PHP_LEVEL.search(line)
    quoted = _PHP_QUOTED.search(line) if kind is None and "exception '" in line else None
    if kind is None and quoted is None:
        if index and line.rstrip() in ("Stack trace:", "[stacktrace]"):
            return _php_header(lines[index - 1], index)
        return None
    trace = Trace(index, "php", exception_line=line)
    if quoted is not None:
        trace.error_type, trace.error_message = quoted.group("type", "msg")
        return trace
    assert kind is not None
    trace.level = _PHP_KIND_LEVEL.get(kind.group("kind"), "error")
    uncaught = _PHP_UNCAUGHT.search(line)
    if uncaught is not None:
        trace.error_type = uncaught.group("type") or uncaught.group("qtype")
        trace.error_message = uncaught.group("msg") if uncaught.group("type") else uncaught.group("qmsg")
    else:
        trace.error_type = "PHP " + kind.group("kind")
        trace.error_message = line[kind.end() :].strip()
    return trace


def _php_header(header: str, index: int) -> Trace:
    """A ``Stack trace:``/``[stacktrace]`` line: the exception is named in the header before it."""
    trace = Trace(index, "php")
    for pattern in (_LARAVEL, _PHP_UNCAUGHT, _PHP_QUOTED):
        found = pattern.search(header)
        if found is not None:
            groups = found.groupdict()
            trace.error_type = groups.get("type") or groups.get("qtype")
            trace.error_message = groups.get("msg") if groups.get("type") else groups.get("qmsg")
            break
    return trace


def _ruby(lines: list[str], index: int) -> Trace | None:
    line = lines[index]
    if ".rb:" in line:
        found = _RUBY_UNCAUGHT.search(line)
        if found is not None:
            return Trace(index, "ruby", found.group("type"), found.group("msg"), line)
    if line.endswith(":") or line.endswith(": "):
        rails = _RAILS.fullmatch(line)
        if rails is not None and any(":in " in text for text in lines[index + 1 : index + 4]):
            return Trace(index, "ruby", rails.group("type"), rails.group("msg"), line.strip())
    return None


def _start(lines: list[str], index: int, text: str) -> Trace | None:
    """The trace that starts at ``lines[index]``, if one does."""
    line = lines[index]
    if line.startswith("Traceback (most recent call last):") or (
        "Exception Group Traceback" in line and line.lstrip(" +|").startswith("Exception Group")
    ):
        return _python(text, index)
    found = _go(line, index)
    if found is not None:
        return found
    if "PHP " in line or "exception '" in line or (index and line.rstrip() in ("Stack trace:", "[stacktrace]")):
        found = _php(lines, index)
        if found is not None:
            return found
    found = _ruby(lines, index)
    if found is not None:
        return found
    found = _java(lines, index)
    if found is not None:
        return found
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if index and following[:1] in (" ", "\t") and ".go:" in following and _GO_FUNC.fullmatch(line) is not None:
        return Trace(index, "go", level=None)  # a zap development stack, or debug.Stack()
    return None


def split_head(text: str) -> list[str]:
    """The first lines of a record, as many as :func:`find_trace` looks at, then the rest in one piece."""
    return text.split("\n", SCAN_LINES + 1)


def find_trace(lines: list[str], text: str) -> Trace | None:
    """The trace in a joined record, if one of its first ``SCAN_LINES`` lines starts one.

    ``lines`` is :func:`split_head` of ``text``.
    """
    for index in range(min(len(lines), SCAN_LINES)):
        found = _start(lines, index, text)
        if found is not None:
            return found
    return None


def apply(parsed: Parsed, trace: Trace, lines: list[str], text: str) -> None:
    """Set ``error.*``, the level and the message of ``parsed`` (parsed from ``lines[0]``) from ``trace``."""
    fields = parsed.fields
    structured = parsed.format != "plain"
    if trace.start:
        header = fields["message"] if structured else lines[0]
        extra = [line.strip() for line in lines[1 : trace.start] if line.strip()]
        message = "\n".join([header, *extra]) if header else "\n".join(extra)
        stack = text[sum(len(line) + 1 for line in lines[: trace.start]) :]
    else:
        message = fields["message"] if structured else (trace.exception_line or lines[0])
        stack = fields["message"] + text[len(lines[0]) :] if structured else text
    fields["message"] = message
    error: dict[str, Any] = {"stack_trace": stack}
    if trace.error_type:
        error["type"] = trace.error_type
    if trace.error_message:
        error["message"] = trace.error_message
    held = fields.get("error")
    if isinstance(held, dict):
        for key, value in held.items():
            error.setdefault(key, value)
    fields["error"] = error
    log = fields.get("log")
    if trace.level is not None and (not isinstance(log, dict) or "level" not in log):
        if isinstance(log, dict):
            log["level"] = trace.level
        else:
            fields["log"] = {"level": trace.level}
