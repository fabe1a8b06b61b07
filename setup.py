"""Build script: the processor's per-line modules are compiled to C extensions with mypyc.

Everything is declared in pyproject.toml; this file only adds the extensions. mypyc (part of mypy)
compiles the same type-checked sources, about 1.7 times faster per line than CPython runs them
(BENCHMARKS.md); ``processor/parse/__init__.py``, the dispatcher, stays Python so that its parsers
can be replaced in tests. Set ``LOGFLEET_PURE_PYTHON=1`` to install without compiling (no C compiler,
or to profile the Python). After editing a compiled module, install again (``pip install -e .``):
an extension module is imported before the ``.py`` beside it, and ``tests/test_build.py`` fails
when one is older than its source.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent
COMPILED = sorted(
    str(path.relative_to(HERE))
    for pattern in ("processor/*.py", "processor/parse/*.py")
    for path in HERE.glob(pattern)
    if path.name not in ("__init__.py", "daemon.py")
)

ext_modules = []
if os.environ.get("LOGFLEET_PURE_PYTHON") != "1":
    from mypyc.build import mypycify

    ext_modules = mypycify(COMPILED, opt_level="3")

setup(ext_modules=ext_modules)
