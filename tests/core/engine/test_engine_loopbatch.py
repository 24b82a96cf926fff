"""SQLite batches applied on the event loop (core/engine/loopbatch.py), and what the loop
hands to the writer thread: a write turn held elsewhere, a lock held outside the turn."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from alertgate.engine import Delivery, IngestEngine, IngestReport, Outcome
from alertgate.engine.loopbatch import MAX_TURN_WAIT_SECONDS
from tests.core.engine.test_engine import alarm
from tests.db_fixtures import SeedFn
from tests.turn_holder import TurnHolder

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def engine(db_engine: Engine) -> Iterator[IngestEngine]:
    engine = IngestEngine(db_engine)
    yield engine
    engine.close()


def _count(db_engine: Engine) -> int:
    with db_engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM alerts").scalar_one())


async def _ticks_while(waiter: asyncio.Future[IngestReport], seconds: float) -> int:
    """How many 10 ms sleeps the loop ran while ``waiter`` stayed pending (a blocked loop
    runs none)."""
    ticks = 0
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
        assert not waiter.done()
        ticks += 1
    return ticks


def test_deliveries_of_one_loop_iteration_share_one_batch_on_the_loop(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()

    async def main() -> list[IngestReport]:
        return await asyncio.gather(
            *(
                engine.ingest_async(Delivery(s.integration_id, s.service_id, [alarm(f"m{i}")]))
                for i in range(20)
            )
        )

    reports = asyncio.run(main())
    outcomes = sorted(r.outcomes[0].outcome.value for r in reports)
    assert outcomes == ["attached"] * 19 + ["opened"]
    assert engine.stats["batches"] == 1
    assert _count(db_engine) == 20
    # applied on the loop: the writer thread was never needed
    assert engine._writer._thread is None


def test_a_turn_held_by_another_process_sends_the_batch_to_the_thread_and_the_loop_runs_on(
    engine: IngestEngine,
    db_engine: Engine,
    seed: SeedFn,
    holder_factory: list[TurnHolder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="alertgate.engine.loopbatch")
    s = seed()
    assert db_engine.url.database is not None
    holder = TurnHolder(db_engine.url.database)
    holder_factory.append(holder)

    async def main() -> tuple[int, IngestReport]:
        waiter = asyncio.ensure_future(
            engine.ingest_async(Delivery(s.integration_id, s.service_id, [alarm("m-1")]))
        )
        ticks = await _ticks_while(waiter, MAX_TURN_WAIT_SECONDS + 0.4)
        holder.release()
        return ticks, await asyncio.wait_for(waiter, 30)

    # Should the loop ever block on the turn, the holder is killed rather than the test
    # hanging: the loop then runs late and the tick count fails the test.
    watchdog = threading.Timer(15, holder.proc.kill)
    watchdog.start()
    try:
        ticks, report = asyncio.run(main())
    finally:
        watchdog.cancel()
    assert ticks >= 10  # the loop kept running while the delivery waited for its turn
    assert [o.outcome for o in report.outcomes] == [Outcome.OPENED]
    assert engine._writer._thread is not None  # handed over after MAX_TURN_WAIT_SECONDS
    assert "1 deliveries go to the writer thread" in caplog.text
    assert _count(db_engine) == 1


def test_a_lock_held_outside_the_turn_sends_the_batch_to_the_thread_and_the_loop_runs_on(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    assert db_engine.url.database is not None
    # A writer that does not take the turn (the CLI, the admin API): SQLite's lock only.
    other = sqlite3.connect(db_engine.url.database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:

        async def main() -> tuple[int, IngestReport]:
            waiter = asyncio.ensure_future(
                engine.ingest_async(Delivery(s.integration_id, s.service_id, [alarm("m-1")]))
            )
            ticks = await _ticks_while(waiter, 0.5)
            other.execute("COMMIT")
            return ticks, await asyncio.wait_for(waiter, 30)

        ticks, report = asyncio.run(main())
    finally:
        other.close()
    assert ticks >= 10
    assert [o.outcome for o in report.outcomes] == [Outcome.OPENED]
    assert engine._writer._thread is not None
    assert _count(db_engine) == 1


def test_the_loop_lane_gives_its_connection_back_as_it_found_it(
    db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    engine = IngestEngine(db_engine)
    writer = engine._writer
    try:

        async def main() -> None:
            await engine.ingest_async(Delivery(s.integration_id, s.service_id, [alarm("m-1")]))

        asyncio.run(main())
        assert writer._loop_lane is not None and writer._loop_lane.conn is not None
        raw = writer._loop_lane.conn.driver_connection
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 0
    finally:
        engine.close()
    assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
    assert raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000


def test_a_delivery_submitted_after_close_is_refused(engine: IngestEngine, seed: SeedFn) -> None:
    s = seed()
    engine.close()

    async def main() -> None:
        await engine.ingest_async(Delivery(s.integration_id, s.service_id, [alarm("m-1")]))

    with pytest.raises(Exception, match="closed"):
        asyncio.run(main())


def test_on_the_thread_when_asked(db_engine: Engine, seed: SeedFn) -> None:
    from alertgate.engine.writer import GroupCommitWriter

    s = seed()
    writer = GroupCommitWriter(db_engine, sqlite_on_loop=False)
    try:

        async def main() -> IngestReport:
            return await writer.submit_async(
                Delivery(s.integration_id, s.service_id, [alarm("m-1")])
            )

        report = asyncio.run(main())
        assert writer._thread is not None and writer._loop_batches is None
    finally:
        writer.close()
    assert [o.outcome for o in report.outcomes] == [Outcome.OPENED]


def test_shrink_memory_drops_both_lanes_caches_and_ingest_goes_on(
    engine: IngestEngine, db_engine: Engine, seed: SeedFn
) -> None:
    s = seed()
    engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("thread")]))  # thread lane
    shrunk = threading.Event()

    async def main() -> None:
        await engine.ingest_async(Delivery(s.integration_id, s.service_id, [alarm("loop")]))
        engine.shrink_memory(then=shrunk.set)  # the loop's lane now, the thread's queued
        await engine.ingest_async(Delivery(s.integration_id, s.service_id, [alarm("after")]))

    asyncio.run(main())
    assert shrunk.wait(30)  # the writer thread got to it and called back
    engine.ingest(Delivery(s.integration_id, s.service_id, [alarm("thread after")]))
    assert _count(db_engine) == 4
