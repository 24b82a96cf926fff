"""The web UI's session: a signed cookie, its key, the server-side sign-in, the CSRF token.

The cookie holds a random session id, a CSRF token and one flash message; it is signed with
:mod:`itsdangerous` (tamper-proof, not secret) and is HttpOnly, SameSite=Lax and Secure when
the public URL is https. A sign-in is a ``web_sessions`` row found by the id's hash: logging
out deletes it, and every request re-checks that the row is unexpired and its token exists
and is not revoked, so a cookie copied before logout or revocation stops working at once.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from alertgate.server.keys import MAX_SECRET_LENGTH, hash_secret
from alertgate.settings import Settings
from alertgate.storage.schema import WebSession

COOKIE_NAME = "alertgate_session"
MAX_COOKIE_BYTES = 4096
"""Browsers drop larger cookies; a larger presented cookie is ignored unparsed."""
SECRET_BYTES = 32

log = logging.getLogger(__name__)


def secret_key_path(settings: Settings) -> Path:
    """Where a generated key is kept: the setting, else beside a SQLite database file."""
    if settings.secret_key_file:
        return Path(settings.secret_key_file)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(f"{url.database}.secret")
    return Path("alertgate.secret")


def load_secret_key(settings: Settings) -> bytes:
    """The session signing key: ``ALERTGATE_SECRET_KEY``, else a kept random one.

    The generated key is written to a temporary file and hard-linked into place, so
    concurrent workers starting together all end up reading the same key.
    """
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < 16:
            raise ValueError("ALERTGATE_SECRET_KEY must be at least 16 characters")
        return value.encode()
    path = secret_key_path(settings)
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".alertgate-secret-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(SECRET_BYTES) + "\n")
        try:
            os.link(tmp, path)
            log.info("generated a web session key in %s", path)
        except FileExistsError:
            pass  # another worker won the race; use its key
    finally:
        os.unlink(tmp)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    value = path.read_text().strip()
    if len(value) < 16:
        raise ValueError(f"session key file {path} holds no usable key")
    return value.encode()


class SessionCodec:
    """Reads and writes the session cookie."""

    def __init__(self, secret: bytes, *, max_age: int, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="alertgate.web.session")
        self.max_age = max_age
        self.secure = secure

    def load(self, request: Request) -> dict[str, Any]:
        """The session data, or an empty dict when absent, forged or expired."""
        raw = request.cookies.get(COOKIE_NAME)
        if not raw or len(raw) > MAX_COOKIE_BYTES:
            return {}
        try:
            data = self._serializer.loads(raw, max_age=self.max_age)
        except BadSignature:
            return {}
        return dict(data) if isinstance(data, dict) else {}

    def save(self, response: Response, data: Mapping[str, Any]) -> None:
        response.set_cookie(
            COOKIE_NAME,
            self._serializer.dumps(dict(data)),
            max_age=self.max_age,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(expected: str | None, presented: str | None) -> bool:
    """Constant-time comparison; a missing token on either side never matches."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


def open_session(db: Session, token_id: int, max_age: int) -> str:
    """Record a sign-in of ``token_id``; the returned id goes into the cookie (only its
    hash is stored). Expired rows of earlier sign-ins are deleted on the way."""
    now = datetime.now(UTC)
    db.execute(delete(WebSession).where(WebSession.expires_at < now))
    session_id = secrets.token_urlsafe(SECRET_BYTES)
    db.add(
        WebSession(
            id_hash=hash_secret(session_id),
            token_id=token_id,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age),
        )
    )
    return session_id


def session_hash(session_id: object) -> str | None:
    """The stored form of a cookie's session id, or ``None`` when it cannot be one."""
    if not isinstance(session_id, str) or not 0 < len(session_id) <= MAX_SECRET_LENGTH:
        return None
    return hash_secret(session_id)


def close_session(db: Session, session_id: object) -> None:
    """End a sign-in (logout): the cookie's id no longer finds a row."""
    id_hash = session_hash(session_id)
    if id_hash is not None:
        db.execute(delete(WebSession).where(WebSession.id_hash == id_hash))
