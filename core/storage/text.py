"""Text as every backend stores it: no NUL characters, no unpaired surrogates.

PostgreSQL's ``text`` refuses NUL (``\\x00``), and neither driver can encode an unpaired
surrogate (``\\ud800``, which a JSON ``\\u`` escape can produce) as UTF-8. Both can reach a
verified message: an SNS ``Message`` is signed as written, escapes included. So at the
storage boundary each is replaced by U+FFFD (the replacement character), on every backend
alike, so that SQLite and PostgreSQL store the same text:

* text columns: NUL and unpaired surrogates become U+FFFD (:func:`storable`);
* JSON columns: unpaired surrogates become U+FFFD (:mod:`alertgate.jsonfast`); NUL stays,
  escaped as ``\\u0000``, which both backends store and return as written.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(value: str) -> str:
    """``value`` with NUL and unpaired surrogates replaced; the same object if it has none."""
    if value.isascii():
        return value.replace("\x00", REPLACEMENT) if "\x00" in value else value
    if _UNSTORABLE.search(value) is None:
        return value
    return _UNSTORABLE.sub(REPLACEMENT, value)


def storable_params(params: Any) -> Any:
    """DBAPI parameters (a sequence, a mapping, or a list of either) with every string
    made :func:`storable`."""
    if isinstance(params, dict):
        return {k: storable(v) if isinstance(v, str) else v for k, v in params.items()}
    if isinstance(params, list):
        return [storable_params(p) for p in params]
    if isinstance(params, tuple):
        return tuple(storable(v) if isinstance(v, str) else v for v in params)
    return params


def without_surrogates(value: Any) -> Any:
    """A JSON-like value with unpaired surrogates replaced in every string and key."""
    if isinstance(value, str):
        return _SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {without_surrogates(k): without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_surrogates(v) for v in value]
    return value
