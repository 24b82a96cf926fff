"""Database engines: SQLite (WAL, tuned pragmas) by default, PostgreSQL by URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from alertgate.storage.text import storable_params

POOL_CACHE_KIB = 4000
WRITER_CACHE_KIB = 32000
"""The writer keeps the hot path's indexes cached: one connection, bounded."""

SQLITE_PRAGMAS = (
    # Takes effect only while the file has no table yet (a new database), and must come
    # first: freed pages then go back to the file system with PRAGMA incremental_vacuum
    # (retention). Older files are converted once by retention (core/storage/retention.py).
    "PRAGMA auto_vacuum=INCREMENTAL",
    "PRAGMA journal_mode=WAL",
    # NORMAL in WAL mode is durable across process crashes (kill -9); only an OS crash or
    # power loss can drop the last transactions.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    # Page cache per connection, in KiB. Every pooled connection (admin API, UI, lookups;
    # up to 15) keeps its cache for its life, and pages of large payloads fill it: at 32 MB
    # each, a worker that had read many large alerts stayed hundreds of MB above its start.
    # The ingest writer's own connection gets WRITER_CACHE_KIB (core/engine/writer.py).
    f"PRAGMA cache_size=-{POOL_CACHE_KIB}",
    "PRAGMA temp_store=MEMORY",
)


def _apply_sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _storable_parameters(
    _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
) -> tuple[str, Any]:
    return statement, storable_params(parameters)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite connections get WAL and the pragmas above.

    Every statement run through SQLAlchemy has its string parameters made storable (NUL
    and unpaired surrogates replaced, see :mod:`alertgate.storage.text`); the ingest
    engine's raw cursors do the same to each alert.
    """
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _apply_sqlite_pragmas)
    event.listen(engine, "before_cursor_execute", _storable_parameters, retval=True)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
