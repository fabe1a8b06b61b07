"""Regenerate the golden ``*.expected.ndjson`` files from the ``*.input`` files beside them.

Run ``python tests/processor/golden/regenerate.py`` from the repository root after a deliberate
change to a parser, then read the diff line by line: the expected files are claims about what each
line means, not a record of whatever the code happened to print.

Each input line (split on ``\\n``, decoded as UTF-8) gives one JSON object ``{"format", "fields"}``, with
``stated_time`` (the line's own time as written) and ``dialect`` when the parser found them, and
``has_message: false`` when a structured line has no message of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from processor.parse import parse_line  # noqa: E402


def input_lines(path: Path) -> list[str]:
    """The lines of a golden input file, byte-exact apart from the ``\\n`` separators."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    return [line.decode("utf-8") for line in lines]


def expected_record(text: str) -> dict[str, Any]:
    """What one line of an expected file holds for ``text``."""
    parsed = parse_line(text)
    record: dict[str, Any] = {"format": parsed.format, "fields": parsed.fields}
    if parsed.stated_time is not None:
        record["stated_time"] = parsed.stated_time
    if parsed.dialect is not None:
        record["dialect"] = parsed.dialect
    if not parsed.has_message:
        record["has_message"] = False
    return record


def main() -> None:
    """Write one ``.expected.ndjson`` per ``.input``."""
    for source in sorted(HERE.glob("*.input")):
        target = source.with_name(source.name.removesuffix(".input") + ".expected.ndjson")
        records = [orjson.dumps(expected_record(line)) for line in input_lines(source)]
        target.write_bytes(b"\n".join(records) + b"\n")
        print(f"{target.name}: {len(records)} lines")


if __name__ == "__main__":
    main()
