"""JSON object lines: decode with orjson, tell the logger's dialect and map its keys onto ECS (see ecs.py
and dialects.py)."""

from __future__ import annotations

import orjson

from processor.parse.dialects import detect
from processor.parse.ecs import GENERIC, map_object
from processor.parse.model import Parsed


def parse_json(text: str) -> Parsed | None:
    """Parse a line holding one JSON object, or return ``None``.

    ``None`` means the line is not for this parser: broken JSON, JSON that is not an object (array,
    number, string), nesting deeper than orjson's limit of 1024, or text orjson cannot take (lone
    surrogates). The ``document`` of the result is the decoded object itself.
    """
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict):
        return None
    keys = detect(document) or GENERIC
    fields, stated_time, has_message = map_object(document, text, keys)
    return Parsed("json", fields, document, stated_time, keys.name, has_message)
