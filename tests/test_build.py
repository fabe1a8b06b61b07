"""The processor's compiled modules (setup.py: mypyc) are built from the sources beside them.

An extension module is imported before the ``.py`` of the same name, so a module edited after the
last ``pip install -e .`` would run its old code: this test fails then, naming the module.
"""

from __future__ import annotations

import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [path for pattern in ("processor/*.py", "processor/parse/*.py") for path in ROOT.glob(pattern)]


def test_no_compiled_module_is_older_than_its_source() -> None:
    stale = []
    for source in SOURCES:
        name = ".".join(source.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        loaded = Path(importlib.import_module(name).__file__ or "")
        if loaded.suffix == ".so" and loaded.stat().st_mtime < source.stat().st_mtime:
            stale.append(name)
    assert not stale, f"compiled before their last edit (run: pip install -e .): {', '.join(stale)}"

