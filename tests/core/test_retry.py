"""The one backoff every retry loop uses: bounded, growing, jittered."""

from __future__ import annotations

from logfleet.core.retry import backoff


def test_backoff_stays_within_its_floor_and_its_growing_ceiling() -> None:
    for attempt in range(12):
        waits = [backoff(attempt, base=0.5, cap=30.0, floor=0.05) for _ in range(200)]
        ceiling = min(30.0, 0.5 * 2**attempt)
        assert all(0.05 <= wait <= max(0.05, ceiling) for wait in waits)
    assert max(backoff(10) for _ in range(200)) > 15  # it does grow towards the cap
    assert len({round(backoff(3), 6) for _ in range(50)}) > 40  # jittered, not in step


def test_a_huge_attempt_number_does_not_overflow() -> None:
    assert 0 <= backoff(10_000) <= 30.0
