"""The cross-process write turn that SQLite writers take before BEGIN IMMEDIATE."""

from __future__ import annotations

import os
import threading
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from alertgate.engine import Delivery, IngestEngine, Outcome
from alertgate.engine.writeturn import LOCK_SUFFIX, WriteTurn
from alertgate.models import Action, Alert, Severity
from tests.db_fixtures import SeedFn
from tests.turn_holder import TurnHolder


def test_turn_excludes_another_process(tmp_path: Path, holder_factory: list[TurnHolder]) -> None:
    database = str(tmp_path / "alertgate.db")
    holder = TurnHolder(database)
    holder_factory.append(holder)
    acquired = threading.Event()

    def take() -> None:
        with WriteTurn(database):
            acquired.set()

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    assert not acquired.wait(0.5), "took the turn while another process held it"
    holder.release()
    assert acquired.wait(30)
    thread.join(30)
    assert Path(database + LOCK_SUFFIX).exists()


def test_try_acquire_never_waits(tmp_path: Path, holder_factory: list[TurnHolder]) -> None:
    database = str(tmp_path / "alertgate.db")
    turn, other = WriteTurn(database), WriteTurn(database)
    holder = TurnHolder(database)
    holder_factory.append(holder)
    assert not turn.try_acquire()  # another process holds it
    holder.release()
    assert turn.try_acquire()
    assert not other.try_acquire()  # a second instance in this process is excluded too
    turn.release()
    assert other.try_acquire()
    other.release()
    turn.close()
    other.close()
    assert turn.try_acquire()  # a closed turn is a no-op


def test_one_turn_used_from_two_threads_is_held_by_one_at_a_time(tmp_path: Path) -> None:
    """Two event loops of one process share the loop lane's turn: ``flock`` locks belong to
    the open file, so without more, the second thread's try_acquire would also succeed."""
    turn = WriteTurn(str(tmp_path / "alertgate.db"))
    assert turn.try_acquire()
    seen: list[bool] = []
    other = threading.Thread(target=lambda: seen.append(turn.try_acquire()))
    other.start()
    other.join()
    assert seen == [False]
    turn.release()
    blocked_until_free = threading.Event()

    def wait_for_it() -> None:
        with turn:
            blocked_until_free.set()

    assert turn.try_acquire()
    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    assert not blocked_until_free.wait(0.2)  # ``with turn`` waits for the holder's release
    turn.release()
    assert blocked_until_free.wait(10)
    waiter.join()
    turn.close()


def test_turn_is_reentrant_across_uses(tmp_path: Path) -> None:
    turn = WriteTurn(str(tmp_path / "a.db"))
    for _ in range(3):
        with turn:
            pass
    turn.close()
    turn.close()


@pytest.mark.parametrize("database", [None, "", ":memory:"])
def test_no_file_means_no_turn(database: str | None) -> None:
    turn = WriteTurn(database)
    assert turn.path is None
    with turn:
        pass


def test_unwritable_folder_falls_back_to_sqlite_locking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.geteuid() == 0:
        # root ignores folder permissions; point the lock into a folder that is a file.
        database = str(tmp_path / "not-a-folder" / "alertgate.db")
        (tmp_path / "not-a-folder").write_text("")
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        database = str(folder / "alertgate.db")
    turn = WriteTurn(database)
    with turn:
        pass
    assert turn.path is None
    assert "writers will poll" in caplog.text


def _alert(key: str) -> Alert:
    return Alert(
        title="CPU high",
        source_time=datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        dedupe_key=key,
        kind="cloudwatch_alarm",
        severity=Severity.ERROR,
        fingerprint="arn:aws:cloudwatch:us-east-1:123456789012:alarm:cpu",
        action=Action.TRIGGER,
        payload={"MessageId": key},
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_writer_waits_for_its_turn_then_commits(
    db_engine: Engine, seed: SeedFn, holder_factory: list[TurnHolder]
) -> None:
    seeded = seed()
    engine = IngestEngine(db_engine)
    try:
        assert db_engine.url.database is not None
        holder = TurnHolder(db_engine.url.database)
        holder_factory.append(holder)
        future = engine._writer.submit(
            Delivery(seeded.integration_id, seeded.service_id, [_alert("m-1")])
        )
        with pytest.raises(FuturesTimeout):
            future.result(timeout=0.5)  # queued behind the other process's turn
        holder.release()
        report = future.result(timeout=30)
    finally:
        engine.close()
    assert [o.outcome for o in report.outcomes] == [Outcome.OPENED]
    with db_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alerts").scalar() == 1
