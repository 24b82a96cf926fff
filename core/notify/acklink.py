"""Signed, expiring, single-incident acknowledge links carried by every message.

The signature is HMAC-SHA256 over the incident id and the expiry, keyed from
``ALERTGATE_SECRET_KEY``; a link acknowledges only its incident, only until it expires.
Opening the link shows a confirmation page and the acknowledgement is a POST, so chat
link previews and mail scanners that fetch URLs acknowledge nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from pydantic import SecretStr

ACK_LINK_TTL = timedelta(hours=24)
ACK_PATH = "/ack"


def _key(secret_key: SecretStr) -> bytes:
    return hashlib.sha256(b"alertgate.ack-link:" + secret_key.get_secret_value().encode()).digest()


def signature(secret_key: SecretStr, incident_id: int, expires: int) -> str:
    message = f"{incident_id}:{expires}".encode()
    return hmac.new(_key(secret_key), message, hashlib.sha256).hexdigest()[:40]


def ack_url(public_url: str, secret_key: SecretStr, incident_id: int, now: datetime) -> str:
    expires = int((now + ACK_LINK_TTL).timestamp())
    sig = signature(secret_key, incident_id, expires)
    return f"{public_url.rstrip('/')}{ACK_PATH}/{incident_id}?expires={expires}&sig={sig}"


def verify(secret_key: SecretStr, incident_id: int, expires: int, sig: str, now: datetime) -> bool:
    """Whether the link is genuine, for this incident, and not expired."""
    if expires < now.timestamp():
        return False
    return hmac.compare_digest(signature(secret_key, incident_id, expires), sig)
