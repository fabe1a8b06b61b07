"""Regenerate ``*.records.json`` beside each ``*.log`` of this directory: the records the joiner makes.

Run ``python tests/shipper/golden/regenerate.py`` from the repository root after a deliberate change
to ``shipper/multiline.py`` and read the diff: each record is a claim about which lines belong together.
Each ``.log`` line is fed as one stderr line of a container, in order, then the joiner is flushed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from shipper.frames import Line  # noqa: E402
from shipper.multiline import Joiner  # noqa: E402


def log_lines(path: Path) -> list[str]:
    """The lines of a ``.log`` input, without their ``\\n``."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def joined(texts: list[str]) -> list[str]:
    """The records the built-in rules make of ``texts`` (one stream, flushed at the end)."""
    joiner = Joiner()
    lines: list[Line] = [[1_000 + i, 0, "stderr", text, []] for i, text in enumerate(texts)]
    out = joiner.feed(lines)[0] + joiner.flush()[0]
    return [record[3] for record in out]


def main() -> None:
    """Write one ``.records.json`` per ``.log``."""
    for source in sorted(HERE.glob("*.log")):
        records = joined(log_lines(source))
        target = source.with_name(source.stem + ".records.json")
        target.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{target.name}: {len(records)} records")


if __name__ == "__main__":
    main()
