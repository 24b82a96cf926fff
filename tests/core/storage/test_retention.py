"""Retention deletes the alert rows no open incident needs, keeps incidents and counts, and
gives SQLite's space back; one process at a time runs it. SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from alertgate.cli import main
from alertgate.engine import Delivery, IngestEngine
from alertgate.models import Action, Alert
from alertgate.storage.database import make_engine
from alertgate.storage.migrate import upgrade
from alertgate.storage.retention import apply_retention, retention_lock
from alertgate.storage.schema import Alert as AlertRow
from alertgate.storage.schema import Incident
from tests.db_fixtures import SeedFn

NOW = datetime.now(UTC)


def _alert(key: str, fingerprint: str, action: Action, days_ago: float) -> Alert:
    return Alert(
        title=f"alarm {fingerprint}",
        source_time=NOW - timedelta(days=days_ago),
        dedupe_key=key,
        fingerprint=fingerprint,
        action=action,
        payload={"MessageId": key, "big": "x" * 500},
    )


def _story(db_engine: Engine, seed: SeedFn) -> None:
    """Per fingerprint: (key, action, age in days) as received."""
    s = seed()
    story = {
        "old-resolved": [
            ("a1", Action.TRIGGER, 50),
            ("a2", Action.TRIGGER, 45),
            ("a3", Action.RESOLVE, 40),
        ],
        "recently-resolved": [("b1", Action.TRIGGER, 50), ("b2", Action.RESOLVE, 5)],
        "still-open": [("c1", Action.TRIGGER, 60), ("c2", Action.TRIGGER, 1)],
        "info": [("d1", Action.INFO, 70), ("d2", Action.INFO, 2)],
    }
    engine = IngestEngine(db_engine)
    try:
        for fingerprint, alerts in story.items():
            for key, action, age in alerts:
                engine.ingest(
                    Delivery(
                        s.integration_id,
                        s.service_id,
                        [_alert(key, fingerprint, action, age)],
                        received_at=NOW - timedelta(days=age),
                    )
                )
    finally:
        engine.close()


def _rows(db_engine: Engine) -> tuple[dict[str, bool], list[tuple[str, str, int]]]:
    with Session(db_engine) as s:
        alerts = {a.dedupe_key or "": a.payload is not None for a in s.scalars(select(AlertRow))}
        incidents = sorted(
            (i.fingerprint, i.status, i.alert_count) for i in s.scalars(select(Incident))
        )
    return alerts, incidents


def test_retention_deletes_what_no_open_incident_needs(
    db_engine: Engine, db_url: str, seed: SeedFn
) -> None:
    _story(db_engine, seed)
    _, incidents_before = _rows(db_engine)
    result = apply_retention(db_engine, timedelta(days=30), now=NOW, batch=2)
    alerts, incidents_after = _rows(db_engine)
    # Deleted: every alert of the incident resolved 40 days ago, and the 70-day-old info.
    # Kept: the open incident's and the recently resolved one's alerts (old payloads
    # blanked), and everything recent.
    assert alerts == {"b1": False, "b2": True, "c1": False, "c2": True, "d2": True}
    assert (result.deleted, result.pruned) == (4, 2)
    # Incidents keep their summary and counts.
    assert incidents_after == incidents_before
    assert ("old-resolved", "resolved", 2) in incidents_after
    again = apply_retention(db_engine, timedelta(days=30), now=NOW)
    assert (again.deleted, again.pruned) == (0, 0)
    # The command prints how many it deleted.
    out = CliRunner().invoke(main, ["db", "prune", "--older-than", "0", "--database-url", db_url])
    assert out.exit_code == 0, out.output
    assert "deleted 3 alert(s) older than 0 day(s)" in out.output  # b1, b2, d2; c* stay


def test_only_one_process_at_a_time_holds_the_retention_lock(db_engine: Engine) -> None:
    with retention_lock(db_engine) as first:
        other = make_engine(db_engine.url.render_as_string(hide_password=False))
        try:
            with retention_lock(other) as second:
                assert first is True and second is False
        finally:
            other.dispose()
    with retention_lock(db_engine) as later:
        assert later is True


def test_sqlite_files_are_incremental_and_old_ones_are_converted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    upgrade(url)
    with sqlite3.connect(tmp_path / "new.db") as conn:
        assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
    # A file made before: auto_vacuum NONE. Retention converts it once, then reclaims.
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE filler (x BLOB)")
        conn.executemany("INSERT INTO filler VALUES (?)", [(b"x" * 4000,)] * 500)
    engine = make_engine(f"sqlite:///{old}")
    try:
        upgrade(engine)
        with sqlite3.connect(old) as conn:
            assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
            conn.execute("DELETE FROM filler")
        size_before = old.stat().st_size
        apply_retention(engine, timedelta(days=30))
        with sqlite3.connect(old) as conn:
            assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
            assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
        assert old.stat().st_size < size_before / 2
    finally:
        engine.dispose()
    with Session(make_engine(url)) as s:
        assert s.scalar(select(func.count()).select_from(AlertRow)) == 0
