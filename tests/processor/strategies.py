"""Hypothesis strategies the processor's property tests share."""

from __future__ import annotations

from hypothesis import strategies as st

# Any JSON value orjson can write: nested lists and objects, huge integers, unicode keys.
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
