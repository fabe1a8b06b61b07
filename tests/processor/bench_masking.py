"""Time ``Masker.mask_line`` alone, in microseconds per line, on the realistic mix (``mix.py``) and on real
log lines (the corpora of ``test_masking_false_positives.py``), optionally against another version of
``processor/masking.py`` in the same process, the runs alternating so both see the same load:

    git show af7a5c5:processor/masking.py > /tmp/masking_before.py
    LOGFLEET_MASKING_CORPORA=/path/to/loghub .venv/bin/python -m tests.processor.bench_masking /tmp/masking_before.py

Lines are parsed once beforehand; each chunk of 250 lines counts with the least of ``--rounds`` timings.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import time
from types import ModuleType

import processor.masking
from processor.parse import parse_line
from tests.processor import mix
from tests.processor.test_masking_false_positives import corpus_lines, corpus_roots


def load(path: str) -> ModuleType:
    """``processor/masking.py`` of another version, loaded from a copy of the file."""
    spec = importlib.util.spec_from_file_location("masking_other", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def line_sets(count: int) -> dict[str, list[str]]:
    """The mix and a seeded sample of the corpus lines, ``count`` lines each."""
    if not mix.ACCESS_LOG.exists():  # mix.py looks for shared/ beside the repository, not above a worktree
        for root in corpus_roots():
            if (root / "elastic-examples").is_dir():
                mix.ACCESS_LOG = root / "elastic-examples/apache_logs/apache_logs"
                mix.MULTILINE = root / "fluent-bit/documentation/examples/multiline/filter_multiline/test.log"
                break
    real = [line for _, line in corpus_lines()]
    random.Random(1).shuffle(real)
    return {"mix": mix.mix_lines(count), f"corpus ({len(real):,} lines, sampled)": real[:count]}


def main() -> None:
    """Print us/line per line set for this version (and the other one, if given)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", nargs="?", help="a copy of another version of processor/masking.py")
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    versions = {"this": processor.masking} | ({"other": load(args.other)} if args.other else {})
    for name, lines in line_sets(args.lines).items():
        parsed = [parse_line(line) for line in lines]
        maskers = {version: module.Masker() for version, module in versions.items()}
        best = dict.fromkeys(versions, 0.0)
        # Short chunks, each timed many times, alternating versions: the least of each chunk's times is
        # the one least disturbed by other processes on a shared machine.
        for start in range(0, len(lines), 250):
            chunk = list(zip(lines[start : start + 250], parsed[start : start + 250], strict=True))
            least = dict.fromkeys(versions, float("inf"))
            for _ in range(args.rounds):
                for version, masker in maskers.items():
                    began = time.perf_counter()
                    for line, fields in chunk:
                        masker.mask_line(line, fields)
                    least[version] = min(least[version], time.perf_counter() - began)
            for version in versions:
                best[version] += least[version]
        figures = ", ".join(f"{version} {seconds / len(lines) * 1e6:.3f} us/line" for version, seconds in best.items())
        if args.other:
            figures += f" ({(best['this'] / best['other'] - 1) * 100:+.1f}%)"
        print(f"{name}: {figures}")


if __name__ == "__main__":
    main()
