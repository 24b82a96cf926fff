"""Retention: delete old alerts that no open incident needs, blank the rest's payloads,
and give the space back.

For a retention period (``ALERTGATE_RETENTION_DAYS``, 90 by default) and its cutoff:

1. Alert rows received before the cutoff are **deleted** when they belong to an incident
   resolved before the cutoff, or to no incident (info, stale and unmatched resolves).
   Incidents themselves stay, with their title, severity, times and ``alert_count``
   (a stored column, not a count of alert rows), so history and counts do not change.
2. Older alerts that are kept (their incident is open, or was resolved after the cutoff)
   lose their ``payload``, the verbatim original and by far the largest column.
3. SQLite gives the freed pages back to the file system: databases are created with
   ``auto_vacuum = INCREMENTAL`` (core/storage/database.py); an older file is converted
   once with a full ``VACUUM``; each run ends with ``PRAGMA incremental_vacuum``.
   PostgreSQL's autovacuum makes the space reusable by later rows.

Work is done per integration through the ``(service_id, integration_id, received_at)``
index, oldest first, in batches of :data:`PRUNE_BATCH` rows per transaction, so a large
run never holds the write lock for long and can run while the server ingests. The server
runs it every ``ALERTGATE_RETENTION_INTERVAL_SECONDS``, one process at a time
(:func:`retention_lock`); ``alertgate db prune`` runs it by hand.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, TextClause, text
from sqlalchemy.exc import OperationalError

from alertgate.storage.locks import job_lock
from alertgate.storage.schema import sqlite_datetime, to_utc

log = logging.getLogger(__name__)

PRUNE_BATCH = 1000
"""Rows changed per transaction, so a large prune never holds the write lock for long."""

_PG_LOCK_KEY = 0x72657465  # "rete": any constant shared by every alertgate process

# Oldest first. The ORDER BY also settles the index: with skewed statistics (an integration
# estimated at ~0 rows) uq_alerts_dedupe, which leads with integration_id too, looked as
# cheap and was taken, reading every alert of the integration per batch; only the
# (service_id, integration_id, received_at) index returns rows in this order without a sort.
_DELETE = text(
    "DELETE FROM alerts WHERE id IN ("
    "SELECT a.id FROM alerts a LEFT JOIN incidents i ON i.id = a.incident_id "
    "WHERE a.service_id = :service AND a.integration_id = :integration "
    "AND a.received_at < :cutoff "
    "AND (a.incident_id IS NULL OR (i.status = 'resolved' AND i.resolved_at < :cutoff)) "
    "ORDER BY a.received_at LIMIT :limit)"
)
_PRUNE = text(
    "UPDATE alerts SET payload = NULL WHERE id IN ("
    "SELECT id FROM alerts WHERE service_id = :service AND integration_id = :integration "
    "AND received_at < :cutoff AND payload IS NOT NULL ORDER BY received_at LIMIT :limit)"
)


@dataclass(frozen=True, slots=True)
class RetentionResult:
    deleted: int
    """Alert rows deleted."""
    pruned: int
    """Alert rows kept (an incident still needs them) whose payload was blanked."""


def apply_retention(
    db: Engine, older_than: timedelta, *, now: datetime | None = None, batch: int = PRUNE_BATCH
) -> RetentionResult:
    """Apply the retention period ``older_than`` (see the module's docstring)."""
    deleted = pruned = 0
    for params in _integrations(db, older_than, now, batch):
        deleted += _in_batches(db, _DELETE, params, batch)
        pruned += _in_batches(db, _PRUNE, params, batch)
    if db.dialect.name == "sqlite":
        reclaim_sqlite_space(db)
    return RetentionResult(deleted, pruned)


def retain_if_free(db: Engine, older_than: timedelta) -> RetentionResult | None:
    """:func:`apply_retention`, unless another process is running it (then ``None``)."""
    with retention_lock(db) as mine:
        return apply_retention(db, older_than) if mine else None


def prune_payloads(
    db: Engine, older_than: timedelta, *, now: datetime | None = None, batch: int = PRUNE_BATCH
) -> int:
    """Only step 2: blank the payloads of alerts received before ``now - older_than``.

    :return: The number of alerts pruned.
    """
    return sum(
        _in_batches(db, _PRUNE, params, batch)
        for params in _integrations(db, older_than, now, batch)
    )


def _integrations(
    db: Engine, older_than: timedelta, now: datetime | None, batch: int
) -> list[dict[str, object]]:
    """Statement parameters for each integration's alerts before the cutoff."""
    cutoff = to_utc(now or datetime.now(UTC)) - older_than
    cutoff_param: object = sqlite_datetime(cutoff) if db.dialect.name == "sqlite" else cutoff
    with db.connect() as conn:
        rows = conn.execute(text("SELECT id, service_id FROM integrations")).all()
    return [
        {
            "service": service_id,
            "integration": integration_id,
            "cutoff": cutoff_param,
            "limit": batch,
        }
        for integration_id, service_id in rows
    ]


def _in_batches(db: Engine, statement: TextClause, params: dict[str, object], batch: int) -> int:
    done = 0
    while True:
        with db.begin() as conn:
            count: int = conn.execute(statement, params).rowcount
        done += count
        if count < batch:
            return done


INCREMENTAL = 2
"""``PRAGMA auto_vacuum`` value of incremental mode."""


def reclaim_sqlite_space(db: Engine) -> None:
    """Return free pages to the file system: once a full ``VACUUM`` (a file created before
    incremental auto-vacuum was the default), then ``PRAGMA incremental_vacuum``. Busy (the
    server holds a long transaction): logged and left to the next run."""
    try:
        with db.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            mode = raw.execute("PRAGMA auto_vacuum").fetchone()[0]
            if mode != INCREMENTAL:
                raw.execute("PRAGMA auto_vacuum = INCREMENTAL")
                raw.execute("VACUUM")  # rewrites the file once, now in incremental mode
                log.info("converted the SQLite database to incremental auto-vacuum")
            raw.execute("PRAGMA incremental_vacuum").fetchall()
            # In WAL mode the shorter file is written through the log: the file shrinks
            # once the log is checkpointed (best effort; readers may hold it this time).
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except (OperationalError, sqlite3.OperationalError) as exc:
        log.warning("SQLite space not reclaimed this time: %s", exc)


def retention_lock(db: Engine) -> contextlib.AbstractContextManager[bool]:
    """Whether this process may run retention now: at most one process at a time across
    every server on the database (:func:`~alertgate.storage.locks.job_lock`). Never waits:
    a process that finds it taken skips this run."""
    return job_lock(db, "retention", pg_key=_PG_LOCK_KEY)
