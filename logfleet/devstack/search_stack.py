"""The search engine of the local stack: the Elasticsearch stand-in ``noida-db``, or a real OpenSearch.

A real Elasticsearch cannot be had on these machines, so ``logfleet stack up`` runs ``noida-db`` as its
stand-in by default; ``--search opensearch`` runs a real single-node OpenSearch from its Maven Central
jars instead (:mod:`logfleet.devstack.opensearch_node`). Either keeps its data under the stack folder
(``noida/`` or ``opensearch/``); the stack record holds the pid under ``noida`` or ``opensearch``, and
a pid counts as the engine's only while it still runs that program from that folder.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import urllib.request
from pathlib import Path

from logfleet.core.errors import StackError
from logfleet.devstack import opensearch_node, processes

NOIDA_PIN = "noida-db==0.2.3"
ENGINES = ("elasticsearch", "opensearch")
RECORD_KEYS = {"elasticsearch": "noida", "opensearch": "opensearch"}  # engine -> key of its pid in the record


def http_ok(url: str) -> bool:
    """Whether ``GET url`` answers 200 within two seconds."""
    try:
        with urllib.request.urlopen(url, timeout=2.0) as resp:
            return int(resp.status) == 200
    except Exception:
        return False


def find_noida() -> str:
    """The noida-db program: the virtualenv's (even when it is not on PATH), else the one on PATH."""
    beside = Path(sys.executable).parent / "noida-db"
    binary = str(beside) if os.access(beside, os.X_OK) else shutil.which("noida-db")
    if binary is None:
        raise StackError(f"noida-db (the Elasticsearch stand-in) not found: pip install {NOIDA_PIN}")
    return binary


def start_noida(stack_dir: Path, port: int) -> int:
    """Start noida-db's Elasticsearch on 127.0.0.1:``port`` detached; its pid once it answers."""
    binary = find_noida()
    data, log = stack_dir / "noida", stack_dir / "noida.log"
    data.mkdir(parents=True, exist_ok=True)
    proc = processes.spawn_detached([binary, "start", "--only", "elasticsearch", "--host", "127.0.0.1",
                                     "--elasticsearch-port", str(port), "--data-dir", str(data)], log)
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline and proc.poll() is None:
        if http_ok(f"http://127.0.0.1:{port}/"):
            return proc.pid
        time.sleep(0.1)
    if proc.poll() is None:
        processes.stop(proc.pid, data)
        raise StackError(f"noida-db did not answer on port {port} within 30 s: {processes.log_tail(log)}")
    processes.forget(proc.pid)
    raise StackError(f"noida-db exited with code {proc.returncode}: {processes.log_tail(log)}")


def is_running(engine: str, pid: int | None, stack_dir: Path) -> bool:
    """Whether ``pid`` is still the stack's ``engine`` process."""
    if not pid:
        return False
    if engine == "opensearch":
        return opensearch_node.is_running(pid, stack_dir / "opensearch")
    return processes.is_ours(pid, "noida-db", stack_dir / "noida")


def start(engine: str, stack_dir: Path, port: int) -> tuple[int, str]:
    """Start ``engine`` on ``port``; returns its pid and one line saying what runs."""
    if engine == "opensearch":
        pid = opensearch_node.start(stack_dir / "opensearch", port)
        return pid, f"OpenSearch {opensearch_node.VERSION} (pid {pid}) at http://127.0.0.1:{port}"
    pid = start_noida(stack_dir, port)
    return pid, f"noida-db (pid {pid}): Elasticsearch stand-in http://127.0.0.1:{port}"


def stop(engine: str, pid: int | None, stack_dir: Path) -> str | None:
    """Stop the engine if ``pid`` still is it; returns what stopped."""
    if not is_running(engine, pid, stack_dir) or pid is None:
        return None
    if engine == "opensearch":
        opensearch_node.stop(pid, stack_dir / "opensearch")
        return f"OpenSearch (pid {pid})"
    processes.stop(pid, stack_dir / "noida")
    return f"noida-db (pid {pid})"
