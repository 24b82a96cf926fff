"""Secrets handed to users: Integration URL keys and API tokens.

Both are long random strings from :mod:`secrets`. Only a SHA-256 hash and a short prefix
(to recognise a secret in listings) are stored, so a database dump hands out neither
working Integration URLs nor working tokens. SHA-256 without salt or stretching is enough
here: the secrets carry 256 bits of entropy, so there is nothing to brute-force, and the
hash must be cheap because every delivery looks its key up.
"""

from __future__ import annotations

import hashlib
import secrets

INTEGRATION_KEY_PREFIX = "agk_"
API_TOKEN_PREFIX = "agt_"  # noqa: S105 - a label, not a secret
SECRET_BYTES = 32
MAX_SECRET_LENGTH = 128
"""Longer presented secrets are rejected without hashing (bounded input)."""
SHOWN_PREFIX_LENGTH = 8


def new_secret(kind_prefix: str) -> str:
    """A fresh secret: a readable kind prefix and 256 random bits, URL-safe."""
    return kind_prefix + secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    """The stored form of a secret (hex SHA-256)."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def shown_prefix(secret: str) -> str:
    """What listings show of a secret: its kind prefix and first few characters."""
    for kind in (INTEGRATION_KEY_PREFIX, API_TOKEN_PREFIX):
        if secret.startswith(kind):
            return secret[: len(kind) + SHOWN_PREFIX_LENGTH]
    return secret[:SHOWN_PREFIX_LENGTH]


def new_integration_key() -> tuple[str, str, str]:
    """``(key, key_hash, key_prefix)`` for a new or rotated Integration URL."""
    key = new_secret(INTEGRATION_KEY_PREFIX)
    return key, hash_secret(key), shown_prefix(key)


def new_api_token() -> tuple[str, str, str]:
    """``(token, token_hash, prefix)`` for a new API token."""
    token = new_secret(API_TOKEN_PREFIX)
    return token, hash_secret(token), shown_prefix(token)


def integration_url(public_url: str, key: str) -> str:
    """The Integration URL for ``key`` under the server's public base URL."""
    return f"{public_url.rstrip('/')}/integrations/{key}"
