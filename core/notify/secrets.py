"""Channel secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with ``ALERTGATE_SECRET_KEY``.

A channel's settings are split in two: plain settings, stored as JSON, and the fields its
settings model marks :class:`pydantic.SecretStr`, stored as one Fernet token. Without a
key, channels whose settings carry a secret cannot be created (nor delivered to).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, SecretStr

from alertgate.notify.types import ChannelType

MASK = "********"


class SecretKeyError(Exception):
    """ALERTGATE_SECRET_KEY is missing or not a Fernet key."""


def fernet_from(secret_key: SecretStr | str | None) -> Fernet:
    """The Fernet of the server's secret key.

    :raises SecretKeyError: Unset, or not url-safe base64 of 32 bytes.
    """
    raw = secret_key.get_secret_value() if isinstance(secret_key, SecretStr) else secret_key
    if not raw:
        raise SecretKeyError(
            "ALERTGATE_SECRET_KEY is not set: channel secrets are stored encrypted with it. "
            "Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    try:
        return Fernet(raw.encode())
    except (ValueError, TypeError):
        raise SecretKeyError(
            "ALERTGATE_SECRET_KEY is not a Fernet key (url-safe base64 of 32 random bytes, "
            "as Fernet.generate_key() makes)"
        ) from None


def split_settings(
    channel_type: ChannelType, settings: BaseModel
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validated settings -> (plain JSON-able settings, secret values by field)."""
    secret_names = channel_type.secret_fields
    plain = settings.model_dump(mode="json", exclude=set(secret_names))
    secrets: dict[str, str] = {}
    for name in secret_names:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            secrets[name] = value.get_secret_value()
    return plain, secrets


def encrypt(fernet: Fernet | None, secrets: Mapping[str, str]) -> str | None:
    """The Fernet token of ``secrets`` (None when there are none)."""
    if not secrets:
        return None
    if fernet is None:
        raise SecretKeyError("a secret key is needed to store channel secrets")
    return fernet.encrypt(json.dumps(dict(secrets)).encode()).decode()


def decrypt(fernet: Fernet | None, token: str | None) -> dict[str, str]:
    """Secret values of a stored token.

    :raises SecretKeyError: No key, or the token was made with another key.
    """
    if not token:
        return {}
    if fernet is None:
        raise SecretKeyError("ALERTGATE_SECRET_KEY is not set: cannot read channel secrets")
    try:
        value = json.loads(fernet.decrypt(token.encode()))
    except InvalidToken:
        raise SecretKeyError(
            "channel secrets were encrypted with another ALERTGATE_SECRET_KEY"
        ) from None
    return {str(k): str(v) for k, v in dict(value).items()}


def masked(channel_type: ChannelType | None, token: str | None) -> dict[str, str]:
    """What the API and UI show of the secrets: which are set, never their values."""
    if channel_type is None or not token:
        return {}
    return dict.fromkeys(sorted(channel_type.secret_fields), MASK)
