"""Per-container checkpoints: the last line Kafka acknowledged, kept on disk.

A checkpoint is ``(ts_ns, ordinal)`` of the last acknowledged line in stream order, plus, once a stopped container
was read to its end, the container's ``FinishedAt`` so a restart does not read it again. The file is
rewritten atomically (temporary file, fsync, rename) at most once per flush interval, and only when
something changed. Checkpoints of removed containers are forgotten after a retention period.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import orjson

FORGET_AFTER_S = 24 * 3600.0
FILE_NAME = "shipper-checkpoints.json"


def path_in(state_dir: str | Path) -> Path:
    """Where the shipper of a host keeps its checkpoints, in its ``state_dir``."""
    return Path(state_dir) / FILE_NAME


@dataclasses.dataclass(frozen=True)
class Entry:
    """One container's checkpoint as an operator sees it."""

    container_id: str
    state: str  # following, finished (read to its end) or removed (forgotten after FORGET_AFTER_S)
    last_line_ts_ns: int | None
    written_at: float | None


class CheckpointStore:
    """The shipper's positions, one per container id."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self.last_write = 0.0
        try:
            loaded = orjson.loads(path.read_bytes())
            self._data = {k: v for k, v in loaded.get("containers", {}).items() if isinstance(v, dict)}
        except FileNotFoundError:
            pass
        except (orjson.JSONDecodeError, AttributeError) as exc:
            raise ValueError(f"checkpoint file {path} is not valid JSON: {exc}") from exc

    def entries(self) -> list[Entry]:
        """Every container's checkpoint, by container id."""
        out = []
        for cid, entry in sorted(self._data.items()):
            state = "removed" if "removed" in entry else "finished" if "finished" in entry else "following"
            ts, at = entry.get("ts"), entry.get("at")
            out.append(Entry(cid, state, int(ts) if ts is not None else None, float(at) if at is not None else None))
        return out

    def position(self, container_id: str) -> tuple[int, int] | None:
        """The last acknowledged ``(ts_ns, ordinal)`` of a container, or None."""
        entry = self._data.get(container_id)
        if entry is None or "ts" not in entry:
            return None
        return int(entry["ts"]), int(entry["ord"])

    def finished_at(self, container_id: str) -> str | None:
        """The ``FinishedAt`` of the container run that was read to its end, if any."""
        entry = self._data.get(container_id)
        return None if entry is None else entry.get("finished")

    def advance(self, container_id: str, position: tuple[int, int]) -> None:
        """Record the last acknowledged line; callers advance in stream (not time) order."""
        entry = self._data.setdefault(container_id, {})
        entry["ts"], entry["ord"] = position
        entry["at"] = time.time()
        entry.pop("finished", None)
        self._dirty = True

    def mark_finished(self, container_id: str, finished_at: str) -> None:
        """Record that the container's run ending at ``finished_at`` was shipped completely."""
        self._data.setdefault(container_id, {})["finished"] = finished_at
        self._dirty = True

    def mark_removed(self, container_id: str) -> None:
        """Note that the container was removed; it is forgotten after the retention period."""
        if container_id in self._data:
            self._data[container_id]["removed"] = time.time()
            self._dirty = True

    def oldest_age(self) -> float:
        """Seconds since the least recently advanced live checkpoint was written (0 when none)."""
        ages = [time.time() - e["at"] for e in self._data.values() if "at" in e and "finished" not in e]
        return max(ages, default=0.0)

    def __len__(self) -> int:
        return len(self._data)

    def save(self, force: bool = False) -> bool:
        """Write the file atomically when something changed; returns whether it wrote."""
        if not (self._dirty or force):
            return False
        now = time.time()
        self._data = {
            k: v for k, v in self._data.items() if now - v.get("removed", now) < FORGET_AFTER_S
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps({"version": 1, "containers": self._data}))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._dirty = False
        self.last_write = now
        return True
