"""How long to wait before trying again: one exponential backoff with jitter for every retry loop.

Reconnecting to Docker, Kafka or the search engine, restarting a follower, re-sending ``_bulk`` items
the engine answered 429/5xx, reading a failed batch again: each waits ``backoff(attempt)``, so many
hosts that lost the same server do not come back in step.
"""

from __future__ import annotations

import random


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0, floor: float = 0.0) -> float:
    """Seconds to wait before try ``attempt + 1`` (``attempt`` 0-based): uniformly random between
    ``floor`` and ``min(cap, base * 2**attempt)`` ("full jitter")."""
    return random.uniform(floor, max(floor, min(cap, base * 2 ** min(attempt, 32))))
