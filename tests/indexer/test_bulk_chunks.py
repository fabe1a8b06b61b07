"""Unit tests of how the indexer cuts items into ``_bulk`` requests."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from indexer.bulk import Item, chunks


def _items(sizes: list[int]) -> list[Item]:
    return [(b"a%d" % i, b"d" * size) for i, size in enumerate(sizes)]


def test_documents_are_spread_evenly_over_as_few_requests_as_the_limit_allows() -> None:
    parts = chunks(_items([10] * 2500), max_docs=2000, max_bytes=10**9)
    assert [len(part) for part in parts] == [1250, 1250]


def test_the_byte_limit_cuts_too_and_an_oversized_item_goes_alone() -> None:
    parts = chunks(_items([100, 100, 5000, 100]), max_docs=100, max_bytes=1000)
    assert [len(part) for part in parts] == [2, 1, 1]


def test_nothing_in_nothing_out() -> None:
    assert chunks([], max_docs=10, max_bytes=100) == []


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=300), st.integers(1, 50), st.integers(1, 3000))
def test_every_item_once_in_order_and_no_request_over_its_limits(sizes: list[int], docs: int, size_limit: int) -> None:
    items = _items(sizes)
    parts = chunks(items, docs, size_limit)
    assert [item for part in parts for item in part] == items
    for part in parts:
        assert 1 <= len(part) <= docs
        body = sum(len(a) + len(d) + 2 for a, d in part)
        assert body <= size_limit or len(part) == 1
