"""Check a line the way the processor does: parse it, read its stated time, check what was found."""

from __future__ import annotations

from processor.enforce import FormatChecker
from processor.parse import parse_line
from processor.parse.eventtime import stated_time_ns

DOCKER_NS = 1_709_294_400_000_000_000  # 2024-03-01T12:00:00Z


def check_line(
    line: str, checker: FormatChecker | None = None, docker_ns: int = DOCKER_NS, container_service: bool = True
) -> list[str]:
    """The checker's reasons for one line whose container does (or does not) name its service."""
    parsed = parse_line(line)
    stated_ns = None if parsed.stated_time is None else stated_time_ns(parsed.stated_time, docker_ns)
    return (checker or FormatChecker()).check(parsed, line, docker_ns, stated_ns, container_service)
