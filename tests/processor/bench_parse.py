"""Time ``processor.parse.parse_line`` per line, on the realistic mix and on plain-text server formats.

Run from the repository root; to measure another checkout's parser on the very same lines, put
that checkout first on the path (the lines always come from this file's own directory)::

    .venv/bin/python tests/processor/bench_parse.py
    git archive <commit> processor logfleet | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before .venv/bin/python tests/processor/bench_parse.py

``mix`` is ``tests/processor/mix.py`` (prescribed JSON, other JSON, access lines, plain text with
joined stack traces); ``formats`` cycles through the golden inputs of the plain-text formats
(``golden/*.input`` named in ``FORMAT_INPUTS``). Each figure is the best of ``--repeat`` passes, in
CPU microseconds per line (process time, so that other work on a shared machine counts less).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
import timeit
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
FORMAT_INPUTS = (
    "k8sdocs_klog",
    "loghub_android_head",
    "loghub_apache_error_head",
    "beats_apache_error_test",
    "beats_nginx_error",
    "beats_postgresql_ubuntu95_head",
    "beats_redis_darwin",
    "beats_mysql_8015",
    "beats_mysql_mariadb",
    "springdocs_boot",
    "pythondocs_logging",
    "golog_examples",
    "handwritten_formats",
)


def _load(name: str) -> ModuleType:
    """A module of this directory by file, so the parser under test may come from elsewhere."""
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def format_lines(count: int) -> list[str]:
    """``count`` lines cycling through the plain-text format golden inputs that exist."""
    pool: list[str] = []
    for name in FORMAT_INPUTS:
        path = HERE / "golden" / f"{name}.input"
        if path.is_file():
            pool.extend(line for line in path.read_text(encoding="utf-8").split("\n") if line)
    return [pool[i % len(pool)] for i in range(count)] if pool else []


def main() -> None:
    """Print one line per set: its name, the lines timed and microseconds per line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    from processor.parse import parse_line

    mix = _load("mix").mix_lines(args.lines)
    sets = {"mix": mix, "formats": format_lines(args.lines)}
    print(f"parser from {sys.modules['processor.parse'].__file__}")
    for name, lines in sets.items():
        if not lines:
            continue

        def run(lines: list[str] = lines) -> None:
            for line in lines:
                parse_line(line)

        passes = timeit.repeat(run, number=1, repeat=args.repeat, timer=time.process_time)
        best = min(passes)
        print(f"{name:8} {len(lines):6} lines {best / len(lines) * 1e6:6.2f} us/line")


if __name__ == "__main__":
    main()
