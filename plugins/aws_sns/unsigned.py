"""Authentication of unsigned deliveries: SNS raw message delivery and direct posts.

Raw message delivery (an SNS subscription attribute) and EventBridge API destinations post
the bare message with no SNS signature. They are refused unless the integration opts in,
and an opted-in integration also requires a shared secret, so that knowing the Integration
URL alone is not enough to inject alerts. The secret travels as

- a header (default ``x-alertgate-key``) — an EventBridge *connection* with API key
  authorization sends exactly that; or
- the password of HTTP Basic authentication — SNS sends it when the subscription endpoint
  is ``https://alertgate:SECRET@host/integrations/KEY``.

Only the secret's SHA-256 (hex) is stored in the integration settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from alertgate.errors import ForbiddenDelivery
from alertgate.models import InboundRequest

MAX_SECRET_CHARS = 1024


def hash_secret(secret: str) -> str:
    """The value to store as ``shared_secret_sha256`` for ``secret``."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _basic_password(authorization: str) -> str | None:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic" or not value or len(value) > MAX_SECRET_CHARS * 2:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    _, sep, password = decoded.partition(":")
    return password if sep else None


def check_shared_secret(request: InboundRequest, expected_sha256: str | None, header: str) -> None:
    """Accept the request only if it carries the secret whose SHA-256 is ``expected_sha256``.

    :raises ForbiddenDelivery: ``secret_required`` (none configured or none sent) or
        ``secret_invalid``.
    """
    if not expected_sha256:
        raise ForbiddenDelivery(
            "secret_required", "unsigned deliveries need shared_secret_sha256 configured"
        )
    candidates = []
    value = request.headers.get(header.lower())
    if value:
        candidates.append(value)
    password = _basic_password(request.headers.get("authorization", ""))
    if password:
        candidates.append(password)
    if not candidates:
        raise ForbiddenDelivery(
            "secret_required", f"unsigned delivery without {header} header or Basic auth"
        )
    expected = expected_sha256.lower().encode("ascii")
    ok = False
    for candidate in candidates:
        if len(candidate) > MAX_SECRET_CHARS:
            continue
        ok |= hmac.compare_digest(hash_secret(candidate).encode("ascii"), expected)
    if not ok:
        raise ForbiddenDelivery("secret_invalid", "the shared secret does not match")
