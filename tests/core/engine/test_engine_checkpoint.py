"""WAL checkpoints off the commit path (SQLite)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Engine

from alertgate.engine import Delivery, IngestEngine
from alertgate.engine.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from alertgate.engine.writeturn import WriteTurn
from tests.core.engine.test_engine import alarm
from tests.db_fixtures import SeedFn


def _writer(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer checkpoints
    conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
    return conn


def _write(conn: sqlite3.Connection, rows: int) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO t (v) VALUES (?)", [("x" * 500,) for _ in range(rows)])
    conn.execute("COMMIT")


def _wal_frames(conn: sqlite3.Connection) -> int:
    # A PASSIVE checkpoint reports the WAL's frame count (and copies: fine in a test).
    return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def test_checkpoint_copies_everything_so_the_wal_restarts(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    writer = _writer(path)
    _write(writer, 2000)
    checkpointer = WalCheckpointer(str(path))
    reader = sqlite3.connect(path, isolation_level=None)
    turn = WriteTurn(str(path))
    frames, copied = checkpointer.checkpoint_once(reader, turn)
    assert frames > 200 and copied == frames
    # Everything was copied, so the next write starts the WAL over: a few frames, not
    # the earlier ones plus new ones.
    _write(writer, 1)
    assert _wal_frames(writer) < 10
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 2001
    for closable in (reader, writer, turn):
        closable.close()


def test_one_process_is_elected_and_another_takes_over(tmp_path: Path) -> None:
    path = str(tmp_path / "a.db")
    _writer(Path(path)).close()
    first, second = WalCheckpointer(path), WalCheckpointer(path)
    # Two instances in one process hold separate open files, so they exclude each other
    # exactly as two processes would.
    assert first._elect() is True
    assert second._elect() is False
    first.stop()
    assert second._elect() is True
    second.stop()


def test_the_thread_checkpoints_while_writes_go_on(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    writer = _writer(path)
    checkpointer = WalCheckpointer(str(path), interval=0.01)
    checkpointer.start()
    turn = WriteTurn(str(path))
    try:
        for _ in range(200):
            with turn:
                _write(writer, 20)
            if checkpointer.checkpoints >= 3:
                break
    finally:
        checkpointer.stop()
        turn.close()
    assert checkpointer.checkpoints >= 1
    assert writer.execute("SELECT count(*) FROM t").fetchone()[0] > 0
    writer.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_writer_leaves_checkpoints_to_the_checkpointer(db_engine: Engine, seed: SeedFn) -> None:
    seeded = seed()
    engine = IngestEngine(db_engine)
    writer = engine._writer
    try:
        engine.ingest(Delivery(seeded.integration_id, seeded.service_id, [alarm("m-1")]))
        assert writer._checkpointer is not None
        raw = writer._connection(writer._lane).driver_connection
        assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == BACKSTOP_PAGES
    finally:
        engine.close()
    # the connection goes back to the pool with SQLite's default
    assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
