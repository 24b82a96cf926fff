"""Apply and inspect schema migrations (Alembic, shipped inside the package).

``alertgate serve`` calls :func:`upgrade` once at start (before forking workers), so a
fresh or older database is brought to the current schema without a separate step;
``alertgate db upgrade`` does the same by hand. ``/readyz`` uses :func:`current_is_head`.

Several processes may call :func:`upgrade` at once (e.g. ``serve --workers 4`` on one
PostgreSQL or SQLite file): a PostgreSQL advisory lock, or a lock file next to the SQLite
database, makes them take turns, and the later ones find nothing left to do.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from alertgate.storage.database import make_engine

SCRIPT_LOCATION = "alertgate:migrations"
# Any constant will do; it only has to be the same in every alertgate process.
_PG_LOCK_KEY = 0x616C6572  # "aler"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the packaged migrations, optionally bound."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@contextlib.contextmanager
def _engine_of(target: str | Engine) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = make_engine(target)
    try:
        yield engine
    finally:
        engine.dispose()


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(target: str | Engine, revision: str = "head") -> str | None:
    """Apply pending migrations up to ``revision``; return the revision now current.

    :param target: A database URL or an existing engine (left open).
    """
    with _engine_of(target) as engine:
        lock = (
            _sqlite_file_lock(engine)
            if engine.dialect.name == "sqlite"
            else contextlib.nullcontext()
        )
        with lock, engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            command.upgrade(alembic_config(conn), revision)
        return current_revision(engine)


def current_revision(target: str | Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    with _engine_of(target) as engine, engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
        return heads[0] if heads else None


def head_revision() -> str:
    """The newest revision shipped with this version of alertgate."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_is_head(target: str | Engine) -> bool:
    """Whether the database schema is current (for ``/readyz``). Raises if unreachable."""
    return current_revision(target) == head_revision()
