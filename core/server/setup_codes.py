"""One-time set-up codes: what keeps a fresh server from being claimed by its first visitor.

While no API token exists, ``/setup`` creates the organization and its first token, and it
requires a code that only someone with access to the server's console or database could
have seen: ``alertgate serve`` and ``alertgate db upgrade`` print one. The request's origin
is no defence (behind a reverse proxy every visitor looks like loopback), so the code is
required from everywhere. Only a hash is stored; codes expire after :data:`CODE_TTL`, and
the first successful set-up deletes them all (single use).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from alertgate.server import keys
from alertgate.server.admin import utcnow
from alertgate.storage.schema import ApiToken, SetupCode

CODE_TTL = timedelta(hours=24)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O or 1/I: the code is read off a console and typed."""
CODE_GROUPS = 4
CODE_GROUP_LENGTH = 4
MAX_CODE_LENGTH = 64


def normalize(code: str) -> str:
    """The code as stored: upper case, without the dashes and spaces people type."""
    return "".join(ch for ch in code.upper() if ch not in "- \t")


def needs_setup(session: Session) -> bool:
    """Whether no API token exists yet (revoked ones count: set-up ran already)."""
    return session.scalar(select(ApiToken.id).limit(1)) is None


def issue(session: Session) -> str | None:
    """A new code when the database has no token yet (else ``None``), valid for a day.

    Earlier unexpired codes stay valid, so several hosts starting on one database each
    print a code that works.
    """
    if not needs_setup(session):
        return None
    now = utcnow()
    session.execute(delete(SetupCode).where(SetupCode.expires_at < now))
    groups = (
        "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUP_LENGTH))
        for _ in range(CODE_GROUPS)
    )
    code = "-".join(groups)
    code_hash = keys.hash_secret(normalize(code))
    session.add(SetupCode(code_hash=code_hash, created_at=now, expires_at=now + CODE_TTL))
    session.flush()
    return code


def consume(session: Session, code: str) -> bool:
    """Whether ``code`` is a live set-up code; if it is, every code is deleted (single use).

    Call it in the transaction that creates the first token, so a failed set-up keeps
    the code and a successful one uses it up.
    """
    code = normalize(code)
    if not code or len(code) > MAX_CODE_LENGTH:
        return False
    wanted = keys.hash_secret(code)
    rows = session.execute(select(SetupCode.code_hash, SetupCode.expires_at)).all()
    now = utcnow()
    found = any(hmac.compare_digest(row.code_hash, wanted) and row.expires_at > now for row in rows)
    if found:
        session.execute(delete(SetupCode))
    return found
