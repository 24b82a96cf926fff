"""JSON encoding on the hot path: orjson, with the standard library where orjson refuses.

Every delivery encodes its alert's payload (the whole SNS envelope, ~2 KB), attributes and
links for storage; with the standard library's encoder that was about 15 % of the
writer's CPU (profiled with ``python -m bench.inprocess``), several times what orjson
takes. orjson refuses integers beyond 64 bits and lone surrogates, which the standard
library writes; those rare values fall back to it. Two differences remain, both harmless:
non-ASCII text is written as UTF-8 rather than ``\\u`` escapes (the same JSON value), and
NaN/Infinity become ``null`` (the standard library writes ``NaN``, which is not JSON and
which PostgreSQL's ``json`` type refuses).

Decoding stays with the standard library: orjson reads integers beyond 64 bits as floats,
which would change stored values.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_STDLIB_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)


def dumps(value: Any) -> str:
    """Compact JSON text; anything JSON cannot express is written as ``str(value)``."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits, lone surrogates, nesting deeper than orjson allows.
        return _STDLIB_ENCODER.encode(value)
