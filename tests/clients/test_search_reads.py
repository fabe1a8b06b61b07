"""Reads that the engine answers 503 or 429 for a moment are asked again; other errors are not.
A real engine answers a search "all shards failed" (503) while a new data stream's first shard is
being allocated; the engine here is a scripted one, no server."""

from __future__ import annotations

from typing import Any

import pytest

from logfleet.clients.search import Engine
from logfleet.core.errors import SearchRequestError


class Scripted(Engine):
    """Answers each request with the next scripted error, then with ``{"count": 7}``."""

    def __init__(self, errors: list[int]) -> None:
        super().__init__("http://scripted", "0")
        self.read_backoff_s = 0.001
        self.errors = errors
        self.calls = 0

    async def request(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None,
                      ndjson: bool = False) -> dict[str, Any]:
        self.calls += 1
        if self.errors:
            status = self.errors.pop(0)
            raise SearchRequestError(f"scripted {status}", status, "search_phase_execution_exception")
        return {"count": 7, "hits": {"hits": []}}

    async def close(self) -> None:
        return None

    async def open_pit(self, index: Any, keep_alive: str) -> str:
        return "pit"

    async def close_pit(self, pit_id: str) -> None:
        return None

    async def drop_streams(self, pattern: str) -> None:
        return None

    async def put_lifecycle(self, name: str, ilm: dict[str, Any]) -> tuple[str, bool]:
        return "", False


async def test_a_busy_or_initialising_engine_is_asked_again() -> None:
    engine = Scripted([503, 429, 503])
    assert await engine.count("logs-x-y") == 7
    assert engine.calls == 4


async def test_other_errors_and_a_lasting_503_are_raised() -> None:
    with pytest.raises(SearchRequestError, match="scripted 400"):
        await Scripted([400]).search("logs-x-y", size=1)
    lasting = Scripted([503] * 50)
    with pytest.raises(SearchRequestError, match="scripted 503"):
        await lasting.count("logs-x-y")
    assert lasting.calls == 8
