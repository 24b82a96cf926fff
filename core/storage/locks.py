"""Background jobs that one process at a time does: a lock that never waits.

Every server worker runs the same background loops (retention, periodic checks); each
round, the worker that takes the job's lock does the work and the others skip that round.
On PostgreSQL the lock is a session advisory lock, on SQLite a ``flock`` on a file beside
the database (processes sharing a SQLite database share its directory).
"""

from __future__ import annotations

import contextlib
import fcntl
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text


def advisory_key(job: str) -> int:
    """The PostgreSQL advisory lock key of ``job`` (stable across processes and versions)."""
    return zlib.crc32(f"alertgate:{job}".encode())


@contextlib.contextmanager
def job_lock(db: Engine, job: str, *, pg_key: int | None = None) -> Iterator[bool]:
    """Whether this process may run ``job`` now: at most one process at a time across every
    server on the database. Never waits: a process that finds it taken gets ``False`` and
    skips this round. In-memory SQLite (one process) always gets ``True``.

    :param pg_key: The advisory lock key (default :func:`advisory_key` of ``job``).
    """
    if db.dialect.name == "postgresql":
        key = advisory_key(job) if pg_key is None else pg_key
        with db.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    database = db.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield True
        return
    path = Path(database)
    with open(path.with_name(f"{path.name}.{job}-lock"), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
