"""The floors of the code base, checked from the imports (ARCHITECTURE.md describes them).

Every import of every module (module-level and inside functions) is read with ``ast``. A module may
import its own floor and the floors below it, never one above; the three parts never import each
other; no set of modules imports itself round in a circle; and what the daemons load at run time
(everything the shipper, processor and indexer daemon modules reach) holds nothing of the operator's
tools, the development stack or the CLI. A failure names the rule and the import that breaks it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("logfleet", "shipper", "processor", "indexer")

# Lowest first: (floor, module prefixes). A module belongs to the floor of its longest prefix.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("logfleet", "logfleet.core")),
    ("clients", ("logfleet.clients", "logfleet.testing")),
    ("parts", ("shipper", "processor", "indexer")),
    ("operator's tools", ("logfleet.ops",)),
    ("development stack", ("logfleet.devstack",)),
    ("command line", ("logfleet.cli", "logfleet.commands", "logfleet.__main__")),
]
PARTS = ("shipper", "processor", "indexer")
DAEMONS = ("shipper.daemon", "processor.daemon", "indexer.daemon")
NOT_AT_RUN_TIME = ("logfleet.ops", "logfleet.devstack", "logfleet.cli", "logfleet.commands", "logfleet.testing")


def modules() -> dict[str, Path]:
    """Every module of the four packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(imported module of the project, line) for every import in the module's source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno


def floor_of(name: str) -> int:
    best, floor = -1, -1
    for index, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best:
                best, floor = len(prefix), index
    assert floor >= 0, f"{name} is on no floor: add it to FLOORS and ARCHITECTURE.md"
    return floor


def graph() -> dict[str, dict[str, int]]:
    known = modules()
    return {name: dict(imports_of(name, path, known)) for name, path in known.items()}


def test_no_import_runs_up_a_floor() -> None:
    broken = []
    for name, targets in graph().items():
        for target, line in targets.items():
            if floor_of(target) > floor_of(name):
                broken.append(f"{name}:{line} imports {target}: the {FLOORS[floor_of(name)][0]} floor may not "
                              f"import the {FLOORS[floor_of(target)][0]} floor above it")
    assert broken == []


def test_the_parts_do_not_import_each_other() -> None:
    broken = []
    for name, targets in graph().items():
        part = name.split(".")[0]
        for target, line in targets.items():
            other = target.split(".")[0]
            if part in PARTS and other in PARTS and other != part:
                broken.append(f"{name}:{line} imports {target}: one part may not use another (share it below)")
    assert broken == []


def test_no_circle_of_imports() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert circles == [], f"modules that import each other round in a circle: {circles}"


def test_the_daemons_load_no_tool_devstack_or_cli_module() -> None:
    edges = graph()
    reached: dict[str, str] = {}
    todo = [(daemon, daemon) for daemon in DAEMONS]
    while todo:
        node, via = todo.pop()
        if node in reached:
            continue
        reached[node] = via
        todo += [(nxt, node) for nxt in edges[node]]
    bad = sorted(f"{name} (imported by {reached[name]})" for name in reached
                 if any(name == p or name.startswith(p + ".") for p in NOT_AT_RUN_TIME))
    assert bad == []


def test_every_module_is_on_a_floor() -> None:
    for name in modules():
        floor_of(name)
