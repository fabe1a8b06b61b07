"""Regenerate the golden ``*.expected.ndjson`` files from the ``*.input`` files beside them.

Run ``python tests/processor/golden/regenerate.py`` from the repository root after a deliberate
change to a parser, then read the diff line by line: the expected files are claims about what each
line means, not a record of whatever the code happened to print.

Each input line (split on ``\\n``, decoded as UTF-8) gives one JSON object ``{"format", "fields"}``, with
``"stated_time"`` (the line's own time as written) and ``dialect`` when the parser found them, and
``has_message: false`` when a structured line has no message of its own. A ``*.records`` input holds
joined records instead of lines (a record per JSON string, one per line), as the shipper hands them over.
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


def input_records(path: Path) -> list[str]:
    """The joined records of a ``.records`` golden input: one JSON string per line."""
    records = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    assert all(isinstance(record, str) for record in records), path
    return records


def inputs(path: Path) -> list[str]:
    """The texts of a golden input, lines (``.input``) or joined records (``.records``)."""
    return input_records(path) if path.suffix == ".records" else input_lines(path)


def main() -> None:
    """Write one ``.expected.ndjson`` per ``.input`` and ``.records``."""
    for source in sorted([*HERE.glob("*.input"), *HERE.glob("*.records")]):
        target = source.with_name(source.stem + ".expected.ndjson")
        records = [orjson.dumps(expected_record(line)) for line in inputs(source)]
        target.write_bytes(b"\n".join(records) + b"\n")
        print(f"{target.name}: {len(records)} lines")


if __name__ == "__main__":
    main()
