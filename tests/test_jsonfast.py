"""core.jsonfast: the same JSON values as the standard library, faster."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from core import jsonfast

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # includes lone surrogates and control characters
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
def test_round_trips_to_the_same_value_as_the_standard_library(value: Any) -> None:
    assert json.loads(jsonfast.dumps(value)) == json.loads(json.dumps(value))


def test_values_orjson_refuses_fall_back_exactly() -> None:
    assert jsonfast.dumps({"n": 2**70}) == '{"n":1180591620717411303424}'
    assert json.loads(jsonfast.dumps({"s": "\ud800x"})) == {"s": "\ud800x"}


def test_non_json_values_are_written_as_text() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert json.loads(jsonfast.dumps({1: when})) == {"1": str(when)}
    assert jsonfast.dumps({"nan": float("nan")}) == '{"nan":null}'  # not the invalid NaN
