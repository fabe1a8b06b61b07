"""A real single-node OpenSearch on 127.0.0.1, built from Maven Central jars, for tests and the dev stack.

:func:`build` runs Maven once on the small project in ``stack/opensearch/`` (a pom pinning the server and
module versions, and a launcher class that starts a ``Node`` with those modules from the classpath) and
keeps the jars in a cache folder, ``~/.cache/logfleet/opensearch-<version>/`` (``LOGFLEET_CACHE_DIR``
moves it). It also tries the index-management (ISM) and job-scheduler plugin zips of the same version
and unpacks them into the node's ``plugins/`` when both resolve; where they do not, the node runs
without ISM and :func:`build` says so. :func:`start` writes the node's configuration under a data folder,
spawns ``java`` detached in its own session and returns its pid once ``GET /`` answers; :func:`stop`
stops it by pid, only while that pid still is this node. ``python -m logfleet.devstack.opensearch_node
build`` is what ``scripts/install.sh`` runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import orjson

from logfleet.core.errors import StackError
from logfleet.devstack import processes

VERSION = "2.19.6"  # must equal <opensearch.version> in stack/opensearch/pom.xml (a test checks)
PLUGINS = ("opensearch-job-scheduler", "opensearch-index-management")  # in load order; ISM extends the scheduler
MAIN_CLASS = "org.logfleet.devstack.OpenSearchNode"
DEFAULT_HEAP = "512m"
PROGRAM = "java"
_PROJECT = Path(__file__).resolve().parents[2] / "stack" / "opensearch"


def cache_dir() -> Path:
    """Where the built node lives: ``$LOGFLEET_CACHE_DIR`` or ``$XDG_CACHE_HOME/logfleet`` or
    ``~/.cache/logfleet``, then ``opensearch-<version>``."""
    base = os.environ.get("LOGFLEET_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "logfleet")
    return Path(base) / f"opensearch-{VERSION}"


def _fingerprint() -> str:
    """A hash of the Maven project's files: a changed pom or launcher means a new build."""
    digest = hashlib.sha256()
    for path in sorted(p for p in _PROJECT.rglob("*") if p.is_file() and "target" not in p.parts):
        digest.update(str(path.relative_to(_PROJECT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _mvn(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("mvn not found: apt-get install maven default-jre-headless (or run scripts/install.sh)")
    return subprocess.run([mvn, "-q", "-B", "-f", str(_PROJECT / "pom.xml"), *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def _unpack_plugin(archive: Path, target: Path) -> None:
    """Unpack a plugin zip into ``target`` (its files sit at the zip's root, or in one folder)."""
    shutil.rmtree(target, ignore_errors=True)
    staging = target.with_name(target.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(staging)
    inner = staging
    if not (inner / "plugin-descriptor.properties").exists():
        found = list(staging.glob("*/plugin-descriptor.properties"))
        if len(found) != 1:
            raise StackError(f"{archive.name} has no plugin-descriptor.properties")
        inner = found[0].parent
    inner.rename(target)
    shutil.rmtree(staging, ignore_errors=True)


def _fetch_plugins(cache: Path) -> dict[str, str]:
    """The ISM and job-scheduler zips of the server's version, unpacked into ``home/plugins``; returns
    for each plugin ``installed`` or why not (only both together are installed)."""
    zips, plugins = cache / "zips", cache / "home" / "plugins"  # the pom copies into <build.dir>/lib
    plugins.mkdir(parents=True, exist_ok=True)
    state: dict[str, str] = {}
    for name in PLUGINS:
        artifact = f"org.opensearch.plugin:{name}:{VERSION}.0:zip"
        done = _mvn(f"-Dbuild.dir={zips}", "dependency:copy", f"-Dartifact={artifact}", "-Dmdep.stripVersion=true",
                    timeout=300)
        state[name] = "resolved" if done.returncode == 0 else f"not on the Maven repository ({artifact})"
    if all(v == "resolved" for v in state.values()):
        for name in PLUGINS:
            _unpack_plugin(zips / "lib" / f"{name}.zip", plugins / name)
            state[name] = "installed"
    return state


def build(*, force: bool = False) -> Path:
    """Resolve and compile the node into :func:`cache_dir` once (again when the Maven project changed,
    or ``force``); returns the cache folder. Raises :class:`StackError` when Maven fails."""
    cache = cache_dir()
    with _locked(cache):
        stamp = cache / "built.json"
        fingerprint = _fingerprint()
        if not force and stamp.exists() and orjson.loads(stamp.read_bytes()).get("fingerprint") == fingerprint:
            return cache
        shutil.rmtree(cache / "build", ignore_errors=True)
        done = _mvn(f"-Dbuild.dir={cache / 'build'}", "package", "dependency:copy-dependencies")
        if done.returncode != 0:
            tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-8:])
            raise StackError(f"building OpenSearch {VERSION} with Maven failed: {tail}")
        plugins = _fetch_plugins(cache)
        stamp.write_bytes(orjson.dumps({"fingerprint": fingerprint, "version": VERSION, "plugins": plugins},
                                       option=orjson.OPT_INDENT_2))
    return cache


def plugins_installed() -> dict[str, str]:
    """What :func:`build` recorded about the ISM and job-scheduler plugins (empty before a build)."""
    try:
        return dict(orjson.loads((cache_dir() / "built.json").read_bytes()).get("plugins", {}))
    except (OSError, ValueError):
        return {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_config(data_dir: Path, port: int, ism: bool) -> Path:
    config = data_dir / "config"
    config.mkdir(parents=True, exist_ok=True)
    for sub in ("data", "logs", "tmp"):
        (data_dir / sub).mkdir(exist_ok=True)
    lines = {
        "cluster.name": "logfleet-dev",
        "node.name": "logfleet-dev",
        "path.data": str(data_dir / "data"),
        "path.logs": str(data_dir / "logs"),
        "network.host": "127.0.0.1",
        "http.port": str(port),
        "transport.port": str(_free_port()),
        "discovery.type": "single-node",
        # a development node on a shared disk: never turn indices read-only because the disk is full-ish
        "cluster.routing.allocation.disk.threshold_enabled": "false",
    }
    if ism:
        lines["plugins.index_state_management.job_interval"] = "1"  # minutes: policies act soon in tests
    (config / "opensearch.yml").write_text("".join(f"{k}: {v}\n" for k, v in lines.items()))
    (config / "log4j2.properties").write_text(
        "status = error\n"
        "appender.console.type = Console\n"
        "appender.console.name = console\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] %m%n\n"
        "rootLogger.level = info\n"
        "rootLogger.appenderRef.console.ref = console\n"
    )
    return config


def command(data_dir: Path, port: int, heap: str = DEFAULT_HEAP) -> list[str]:
    """The ``java`` command line of a node keeping its data in ``data_dir`` (writes its config)."""
    cache = cache_dir()
    java = shutil.which("java")
    if java is None:
        raise StackError("java not found: apt-get install default-jre-headless (or run scripts/install.sh)")
    ism = plugins_installed().get("opensearch-index-management") == "installed"
    config = _write_config(data_dir, port, ism)
    lib = cache / "build"
    return [
        java, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-Xss1m",
        "-Dlog4j.shutdownHookEnabled=false", "-Dlog4j2.disable.jmx=true", "-Dlog4j2.formatMsgNoLookups=true",
        "-Djava.awt.headless=true", "-Dfile.encoding=UTF-8", f"-Djava.io.tmpdir={data_dir / 'tmp'}",
        f"-Dopensearch.path.home={cache / 'home'}", f"-Dopensearch.path.conf={config}",
        "-cp", f"{lib}/logfleet-opensearch-node-{VERSION}.jar:{lib}/lib/*", MAIN_CLASS,
    ]


def answers(port: int, timeout: float = 2.0) -> bool:
    """Whether an OpenSearch answers ``GET /`` on 127.0.0.1:``port``."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as resp:
            return bool(orjson.loads(resp.read()).get("version", {}).get("distribution") == "opensearch")
    except Exception:
        return False


def _get(port: int, path: str, limit_s: float) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=max(2.0, limit_s + 2)) as resp:
        return dict(orjson.loads(resp.read()))


def _recovered(port: int, within: float) -> bool:
    """Whether the node's existing indices are searchable again: a restarted node answers ``GET /``
    before its gateway put the indices back into the cluster state (health is green then, with no
    indices at all) and before their shards started; searches fail with 503 meanwhile."""
    try:
        blocks = _get(port, "/_cluster/state/blocks", 2.0).get("blocks") or {}
        if "not recovered" in orjson.dumps(blocks).decode():
            return False
        wait = max(1, int(within))
        health = _get(port, f"/_cluster/health?wait_for_status=yellow&wait_for_no_initializing_shards=true"
                            f"&timeout={wait}s", wait)
        return str(health.get("status")) in ("yellow", "green") and not health.get("timed_out")
    except Exception:
        return False


def start(data_dir: Path, port: int, *, heap: str = DEFAULT_HEAP, timeout: float = 120.0) -> int:
    """Start a node keeping its data in ``data_dir``, HTTP on 127.0.0.1:``port``; returns its pid once
    ``GET /`` answers and the indices it already had are searchable (cluster health yellow). Detached
    (own session): it outlives the caller until :func:`stop`. Raises :class:`StackError` with the
    launcher's reason (or the end of its log) when it exits or does not answer in ``timeout`` s."""
    data_dir = Path(data_dir).absolute()
    build()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "opensearch.log"
    proc = processes.spawn_detached(command(data_dir, port, heap), log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if answers(port, timeout=1.0) and _recovered(port, deadline - time.monotonic()):
            return proc.pid
        time.sleep(0.2)
    if proc.poll() is None:
        processes.stop(proc.pid, data_dir, grace=20)
        raise StackError(f"OpenSearch did not answer on port {port} within {timeout:.0f} s: "
                         f"{processes.log_tail(log)}")
    processes.forget(proc.pid)
    raise StackError(f"OpenSearch exited with code {proc.returncode}: {_failure(log)}")


def _failure(log: Path) -> str:
    """The launcher's one-line reason (``logfleet-opensearch-node failed: ...``), else the log's tail."""
    with contextlib.suppress(OSError):
        for line in reversed(log.read_text(errors="replace").splitlines()):
            if "logfleet-opensearch-node failed:" in line:
                return line.split("logfleet-opensearch-node failed:", 1)[1].strip()
    return processes.log_tail(log)


def is_running(pid: int, data_dir: Path) -> bool:
    """Whether ``pid`` still is the node started with ``data_dir`` (not a reused pid)."""
    return processes.is_ours(pid, PROGRAM, Path(data_dir).absolute())


def stop(pid: int, data_dir: Path, grace: float = 30.0) -> bool:
    """Stop the node ``pid`` started with ``data_dir`` (SIGTERM: it closes its indices; SIGKILL after
    ``grace`` s); returns False when that pid is not this node any more (nothing is signalled)."""
    data_dir = Path(data_dir).absolute()
    if not is_running(pid, data_dir):
        processes.forget(pid)
        return False
    processes.stop(pid, data_dir, grace=grace)
    return True


def main(argv: list[str]) -> int:
    """``build`` (resolve and compile once, print the cache folder), ``build --force``, or ``run DIR PORT``
    (start a node in the foreground of this command and print its pid)."""
    if argv[:1] == ["build"]:
        try:
            cache = build(force="--force" in argv)
        except StackError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 3
        plugins = plugins_installed()
        print(f"OpenSearch {VERSION}: {cache}")
        for name, state in plugins.items():
            print(f"  {name}: {state}")
        return 0
    if argv[:1] == ["run"] and len(argv) == 3:
        print(start(Path(argv[1]), int(argv[2])))
        return 0
    print("usage: python -m logfleet.devstack.opensearch_node build [--force] | run DATA_DIR PORT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
