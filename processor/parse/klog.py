"""Headers with a one-letter level: klog/glog (``klog``) and Android logcat (``logcat``).

klog (Kubernetes components, glog), as in the Kubernetes "System Logs" documentation::

    I1025 00:15:15.525108       1 httplog.go:79] GET /api/v1/namespaces/kube-system/pods/...
    Lmmdd hh:mm:ss.uuuuuu threadid file:line] msg

The letter is the level (I info, W warn, E error, F fatal), ``threadid`` goes to ``process.thread.id``,
``file:line`` to ``log.origin.file.name``/``line``; ``stated_time`` is ``"1025 00:15:15.525108"`` (klog
writes no year). Structured klog messages (``"Pod status updated" pod="kube-system/kubedns"``) are
kept as written.

Android logcat, ``threadtime`` (the default of ``adb logcat``), ``time`` and ``brief``::

    03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs...
    03-17 16:13:38.811 D/WindowManager( 1702): ...
    D/WindowManager( 1702): ...

The letter is the priority (V verbose -> trace, D debug, I info, W warn, E error, F and A fatal; S
silent has no level), the tag goes to ``log.logger``, the two numbers to ``process.pid`` and
``process.thread.id``. A year before the date (``logcat -v year``) is accepted.
"""

from __future__ import annotations

import re
from typing import Any, Final

from processor.parse.model import Parsed

_KLOG_LINE: Final = re.compile(
    r"(?P<level>[IWEF])(?P<time>\d{4} \d\d:\d\d:\d\d\.\d{6}) +(?P<thread>\d+) "
    r"(?P<file>[^\s:\]]+):(?P<line>\d+)\] ?(?P<msg>.*)",
    re.DOTALL | re.ASCII,
)
_KLOG_LEVEL: Final = {"I": "info", "W": "warn", "E": "error", "F": "fatal"}

_LOGCAT_TIME: Final = r"(?P<time>(?:\d{4}-)?\d\d-\d\d \d\d:\d\d:\d\d\.\d{3,6})"
_THREADTIME: Final = re.compile(
    _LOGCAT_TIME + r" +(?P<pid>\d+) +(?P<tid>\d+) (?P<level>[VDIWEFAS]) (?P<tag>[^:]*?) *:(?: (?P<msg>.*))?",
    re.DOTALL | re.ASCII,
)
_BRIEF: Final = re.compile(
    r"(?:" + _LOGCAT_TIME + r" )?(?P<level>[VDIWEFAS])/(?P<tag>[^(]*?) *\( *(?P<pid>\d+)\): ?(?P<msg>.*)",
    re.DOTALL | re.ASCII,
)
_LOGCAT_LEVEL: Final = {"V": "trace", "D": "debug", "I": "info", "W": "warn", "E": "error", "F": "fatal", "A": "fatal"}


def parse_klog(text: str) -> Parsed | None:
    """Parse a klog/glog line (format ``klog``), or return ``None``."""
    match = _KLOG_LINE.fullmatch(text)
    if match is None:
        return None
    level, time, thread, file, line, msg = match.groups()
    fields: dict[str, Any] = {
        "message": msg,
        "log": {"level": _KLOG_LEVEL[level], "origin": {"file": {"name": file, "line": int(line)}}},
        "process": {"thread": {"id": int(thread)}},
    }
    return Parsed("klog", fields, stated_time=time)


def parse_logcat(text: str) -> Parsed | None:
    """Parse an Android logcat line, threadtime or (time-prefixed) brief (format ``logcat``)."""
    match = _BRIEF.fullmatch(text) if text[1:2] == "/" else _THREADTIME.fullmatch(text) or _BRIEF.fullmatch(text)
    if match is None:
        return None
    groups = match.groupdict()
    process: dict[str, Any] = {"pid": int(groups["pid"])}
    if groups.get("tid") is not None:
        process["thread"] = {"id": int(groups["tid"])}
    log: dict[str, Any] = {}
    level = _LOGCAT_LEVEL.get(groups["level"])
    if level is not None:
        log["level"] = level
    if groups["tag"]:
        log["logger"] = groups["tag"]
    fields: dict[str, Any] = {"message": groups["msg"] or "", "process": process}
    if log:
        fields["log"] = log
    return Parsed("logcat", fields, stated_time=groups["time"])
