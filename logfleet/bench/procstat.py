"""CPU time and memory of processes, read from /proc (Linux)."""

from __future__ import annotations

import os

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds a process (not its children) has used."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int, peak: bool = False) -> float:
    """Resident memory of a process in MB (its peak with ``peak``)."""
    key = "VmHWM:" if peak else "VmRSS:"
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return 0.0


def pid_of(program: str, argument: str = "") -> int | None:
    """The pid of a running program whose command line contains ``argument``, if any."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().split(b"\0")
        except OSError:
            continue
        name = os.path.basename(cmdline[0].decode(errors="replace")) if cmdline else ""
        if name == program and argument.encode() in b" ".join(cmdline):
            return int(entry)
    return None
