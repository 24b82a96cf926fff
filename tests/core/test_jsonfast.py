"""alertgate.jsonfast: the same JSON values as the standard library, faster."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertgate import jsonfast

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
    # Lone surrogates become U+FFFD: what is written is storable and valid text again.
    assert json.loads(jsonfast.dumps({"s": "\ud800x", "\udfff": 1})) == {
        "s": "\ufffdx",
        "\ufffd": 1,
    }
    # The bytes form (HTTP answers) falls back the same way.
    assert jsonfast.dumps_bytes({"n": 2**70}) == b'{"n":1180591620717411303424}'
    assert json.loads(jsonfast.dumps_bytes({"s": "\ud800x"})) == {"s": "\ufffdx"}
    assert json.loads(jsonfast.dumps_bytes({"s": ["\x00", 2**70]})) == {"s": ["\x00", 2**70]}
    assert jsonfast.dumps_bytes({"u": "é"}) == '{"u":"é"}'.encode()


def test_non_json_values_are_written_as_text() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert json.loads(jsonfast.dumps({1: when})) == {"1": str(when)}
    assert jsonfast.dumps({"nan": float("nan")}) == '{"nan":null}'  # not the invalid NaN


def _same(a: Any, b: Any) -> bool:
    """Equal, with exact types (1 vs 1.0 differ) and NaN equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:
        return b != b
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@given(json_values)
def test_loads_gives_exactly_what_the_standard_library_gives(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
        for data in (text, text.encode("utf-8", "surrogatepass")):
            try:
                expected = json.loads(data)
            except ValueError:  # a lone surrogate in UTF-8 bytes is not valid UTF-8
                continue
            assert _same(jsonfast.loads(data), expected)


def test_loads_keeps_what_orjson_would_change_or_refuse() -> None:
    big = 2**70
    assert jsonfast.loads(f'{{"n": {big}, "m": -{big}}}'.encode()) == {"n": big, "m": -big}
    assert type(jsonfast.loads(b"[-9223372036854775809]")[0]) is int  # below int64
    assert jsonfast.loads('"\\ud800"') == "\ud800"
    nan, inf = jsonfast.loads(b"[NaN, Infinity]")
    assert nan != nan and inf == float("inf")
    assert jsonfast.loads("[1]".encode("utf-16")) == [1]


def test_loads_fails_as_the_standard_library_fails() -> None:
    for bad in (b"{bad", b"", b"\xff\xff", "[1,]"):
        try:
            json.loads(bad)
        except ValueError as exc:
            expected: type[Exception] = type(exc)
        with pytest.raises(expected):
            jsonfast.loads(bad)
