"""Structured JSON logs for logfleet's own events.

Every daemon logs through structlog as one JSON object per line on stderr, so operators can ship
logfleet's logs with logfleet (or anything else) and query them by field.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog


def _dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default).decode()


class _JsonFormatter(logging.Formatter):
    """Standard-library records (aiokafka, elasticsearch) as JSON lines, like our own."""

    def format(self, record: logging.LogRecord) -> str:
        return _dumps(
            {
                "component": record.name,
                "event": record.getMessage(),
                "level": record.levelname.lower(),
                "timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            }
        )


def configure_logging(level: str = "info", libraries: bool = True) -> None:
    """Send structlog output as JSON lines to stderr at the given level.

    Libraries' own warnings (aiokafka, elasticsearch) become JSON lines too, or, with
    ``libraries=False`` (one-shot commands, whose errors are reported in one line), are muted.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.WARNING) if libraries else logging.CRITICAL + 1)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    """A structlog logger bound to the component name."""
    return structlog.get_logger(component=name)
