"""Unit tests of the checkpoint store and of the resume skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipper.checkpoints import CheckpointStore
from shipper.follower import RESUME_WINDOW_NS, ResumeSkip


def test_positions_survive_a_reload_and_files_are_replaced_atomically(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "cp.json")
    store.advance("abc", (10, 2))
    assert store.save()
    assert not store.save()  # nothing changed
    assert not (tmp_path / "cp.tmp").exists()
    again = CheckpointStore(tmp_path / "cp.json")
    assert again.position("abc") == (10, 2)
    assert again.position("other") is None


def test_finished_marker_is_cleared_when_the_container_ships_again(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "cp.json")
    store.advance("abc", (10, 0))
    store.mark_finished("abc", "2024-01-01T00:00:00Z")
    assert store.finished_at("abc") == "2024-01-01T00:00:00Z"
    store.advance("abc", (11, 0))
    assert store.finished_at("abc") is None


def test_a_corrupt_checkpoint_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "cp.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        CheckpointStore(tmp_path / "cp.json")


def test_resume_skips_up_to_the_exact_last_line_even_when_later_lines_are_older() -> None:
    skip = ResumeSkip((1_000, 0))
    replay = [[990, 0, "stdout", "a", []], [1_000, 0, "stderr", "last shipped", []], [995, 0, "stdout", "late", []]]
    shipped = [line[3] for line in replay if not (skip.active and skip.already_shipped(line))]
    assert shipped == ["late"]


def test_resume_ships_newer_lines_when_the_last_line_is_gone() -> None:
    skip = ResumeSkip((1_000, 0))
    later = [2_000 + RESUME_WINDOW_NS, 0, "stdout", "after rotation", []]
    assert skip.already_shipped([1_500, 0, "stdout", "x", []])
    assert not skip.already_shipped(later) and not skip.active
