"""JSON on the hot path: orjson, with the standard library wherever the two would differ.

Every delivery encodes its alert's payload (the whole SNS envelope, ~2 KB), attributes and
links for storage; with the standard library's encoder that was about 15 % of the
writer's CPU (profiled with ``python -m bench.inprocess``), several times what orjson
takes. orjson refuses integers beyond 64 bits and lone surrogates; those rare values fall
back to the standard library, lone surrogates replaced by U+FFFD (see
:mod:`alertgate.storage.text`). Two differences remain, both harmless:
non-ASCII text is written as UTF-8 rather than ``\\u`` escapes (the same JSON value), and
NaN/Infinity become ``null`` (the standard library writes ``NaN``, which is not JSON and
which PostgreSQL's ``json`` type refuses).

Decoding (:func:`loads`) takes orjson too (a delivery decodes its SNS envelope and the
alarm inside it: ~9 us each with the standard library, ~2 with orjson), except where the
result could differ: orjson reads integers beyond 64 bits as floats, so a document with a
run of 19 or more digits anywhere is decoded by the standard library, and so is whatever
orjson refuses (NaN and Infinity literals, lone surrogates, UTF-16 or UTF-32 bytes, nesting
deeper than 1,024), which then decodes, or fails, exactly as with ``json.loads``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from alertgate.storage.text import without_surrogates

_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)
_STDLIB_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_DIGIT_RUN = b"0" * 19


def dumps_bytes(value: Any) -> bytes:
    """Compact JSON as UTF-8 bytes; anything JSON cannot express is written as
    ``str(value)``."""
    try:
        return orjson.dumps(value, default=str, option=_OPTIONS)
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits, lone surrogates, nesting deeper than orjson allows. The
        # standard library escapes non-ASCII, so its text always encodes; lone surrogates
        # become U+FFFD, so what is written is storable and reads back as valid text.
        return _STDLIB_ENCODER.encode(without_surrogates(value)).encode()


def dumps(value: Any) -> str:
    """:func:`dumps_bytes` as text (JSON columns, log lines)."""
    return dumps_bytes(value).decode()


def loads(data: bytes | str) -> Any:
    """``json.loads(data)``, faster: the same value or the same exception.

    :raises ValueError: Not JSON (``json.JSONDecodeError``, or ``UnicodeDecodeError``).
    :raises RecursionError: Nested too deeply even for the standard library.
    """
    try:
        raw = data.encode() if isinstance(data, str) else data
    except UnicodeEncodeError:  # a lone surrogate: only the standard library reads it
        return json.loads(data)
    # Digit runs found with bytes.find (a regular expression took longer than the decode).
    if raw.translate(_DIGITS_AS_ZERO).find(_LONG_DIGIT_RUN) < 0:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)
