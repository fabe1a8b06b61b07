"""Processes the local stack starts and stops: detached spawning, liveness, and stopping by pid.

A pid alone is not proof: a stopped stack's pid may be reused by an unrelated program. So a process
counts as the stack's only while it still runs the program that was started and its argv mentions a
marker path under the stack folder; stopping sends SIGTERM to its process group, then SIGKILL after a
grace period, and sweeps whatever else still mentions the marker (containerd shims outlive dockerd).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

PROGRAMS = ("dockerd", "containerd", "noida-db", "java")  # what may be left of a stack once its leader is gone
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # started by this process, kept to reap them


def forget(pid: int) -> None:
    """Stop tracking a child this process started (it was handed over, or is gone)."""
    _CHILDREN.pop(pid, None)


def argv_of(pid: int) -> list[str]:
    """The command line of ``pid`` (empty when it is gone or unreadable)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, process group) of a live process, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[2])


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count; our own exited children are reaped)."""
    child = _CHILDREN.get(pid)
    if child is not None and child.poll() is not None:  # reap our own exited child
        _CHILDREN.pop(pid, None)
    stat = _stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def _mentions(argv: list[str], marker: Path) -> bool:
    return any(a.endswith(str(marker)) or f"{marker}/" in a for a in argv)


def is_ours(pid: int, program: str, marker: Path) -> bool:
    """Whether ``pid`` still runs ``program`` with ``marker`` (a path under the stack dir) in its argv."""
    argv = argv_of(pid)
    return is_alive(pid) and any(Path(a).name == program for a in argv[:2]) and _mentions(argv, marker)


def pids_mentioning(marker: Path, group: int | None = None) -> list[int]:
    """Live dockerd/containerd/noida-db/java processes whose argv mentions ``marker``, and group ``group``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        stat = _stat(pid)
        if stat is None or stat[0] in ("Z", "X"):
            continue
        argv = argv_of(pid)
        if stat[1] == group or (argv and Path(argv[0]).name.startswith(PROGRAMS) and _mentions(argv, marker)):
            found.append(pid)
    return found


def log_tail(path: Path, lines: int = 8) -> str:
    """The last ``lines`` lines of a log file on one line, for error messages."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    kept = [line for line in text if "GLIBC_2.39" not in line]
    return " | ".join(kept[-lines:]) or "(empty log)"


def spawn_detached(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session (it outlives us), output appended to ``log``."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    _CHILDREN[proc.pid] = proc
    return proc


def kill_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group led by ``pid`` and to ``pid`` itself; gone is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def stop(pid: int, marker: Path, grace: float = 10.0) -> None:
    """SIGTERM ``pid`` (and its group), SIGKILL after ``grace`` seconds, then whatever mentions ``marker``."""
    kill_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and (is_alive(pid) or pids_mentioning(marker, pid)):
        time.sleep(0.05)
    for left in [pid, *pids_mentioning(marker, pid)]:
        kill_group(left, signal.SIGKILL)
    while is_alive(pid):
        time.sleep(0.05)
    _CHILDREN.pop(pid, None)
