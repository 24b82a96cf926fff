"""Opaque keyset cursors: the position after the last row of a page.

A cursor is URL-safe base64 of a small JSON list (the sort name and the last row's sort
key). Clients must treat it as opaque; a cursor that does not decode, or that was made for
another sort, is refused with 422 rather than guessed at.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from alertgate.server.admin import InvalidInput

MAX_CURSOR = 200


def encode(kind: str, *key: Any) -> str:
    raw = json.dumps([kind, *key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, kind: str, arity: int) -> list[Any]:
    """The sort key a cursor of ``kind`` holds (``arity`` values)."""
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, list) or len(doc) != arity + 1 or doc[0] != kind:
        raise InvalidInput("invalid_cursor", "cursor is not valid for this list")
    return doc[1:]


def decode_id(cursor: str, kind: str) -> int:
    """A cursor holding one row id."""
    (value,) = decode(cursor, kind, 1)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 2**62:
        raise InvalidInput("invalid_cursor", "cursor is not valid for this list")
    return value
