"""Group commit: one writer thread applies concurrent deliveries in shared transactions.

Callers hand a :class:`~alertgate.engine.types.Delivery` to :meth:`GroupCommitWriter.submit`
and wait on the returned future. The writer takes everything queued (up to ``max_batch``),
opens one transaction, applies the deliveries, commits once, and only then resolves the
futures. A batch is first applied without savepoints; should anything fail, it is rolled
back and applied again with a SAVEPOINT per delivery, so the delivery that fails is rolled
back alone and reported to its caller alone.

Every caller is released after a durable commit that contains its delivery, exactly as
with one transaction per delivery, but N deliveries share one commit (one fsync on SQLite,
one round trip on PostgreSQL).

Batches form by themselves: while a commit is in progress, new deliveries queue up and
become the next batch. There is no timer and no added latency for a lone delivery.

On SQLite, deliveries submitted from an event loop (:meth:`GroupCommitWriter.submit_async`,
the server's path) are applied on that loop instead, one batch per drain, on a connection
and write turn of their own (:mod:`alertgate.engine.loopbatch` says why and how); the thread
takes whatever the loop hands over and every :meth:`GroupCommitWriter.submit`.

Across processes (several server workers on one SQLite file or one PostgreSQL), the
database arbitrates: SQLite's write lock (``BEGIN IMMEDIATE``, taken during a write turn,
:mod:`alertgate.engine.writeturn`, so waiting writers wake at once), PostgreSQL row locks taken
by the fingerprint upsert, and unique indexes. A unique violation (a race on the
open-incident index or on dedupe) rolls the delivery back to its savepoint and applies it
again, now seeing the other process's row; a deadlock, lock timeout or lost connection
rolls back and retries the whole batch.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Engine

from alertgate.engine.apply import (
    Applied,
    apply_delivery,
    apply_state_batch,
    collect_pg_row,
    pg_alert_params,
)
from alertgate.engine.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from alertgate.engine.loopbatch import LoopBatches
from alertgate.engine.sql import PG_APPLY_ALERT, RawSql
from alertgate.engine.types import Delivery, IngestReport, PendingEvent, StorageUnavailable
from alertgate.engine.writeturn import WriteTurn
from alertgate.models import Alert
from alertgate.storage.database import POOL_CACHE_KIB, WRITER_CACHE_KIB
from alertgate.storage.schema import to_utc

log = logging.getLogger(__name__)

MAX_DELIVERY_ATTEMPTS = 4
"""Unique-violation retries of one delivery inside a batch (races with other processes)."""
MAX_BATCH_ATTEMPTS = 6
"""Whole-batch retries after a deadlock, lock timeout or lost connection."""
LAST_ALERT_RESOLUTION = timedelta(seconds=1)
"""``integrations.last_alert_at`` is written at most once a second per integration and
process: under load it would otherwise make every batch contend for the same row."""


class BatchOutbox(Protocol):
    """Queues the notifications incident changes cause, in their transaction: a batch's
    (``write_batch``, on the writer's cursor) or a manual change's (``write_events``);
    ``committed`` after the COMMIT. Implemented by :class:`alertgate.notify.outbox.Outbox`."""

    def write_batch(
        self,
        cur: Any,
        sql: RawSql,
        deliveries: Sequence[Delivery],
        results: Sequence[Applied | BaseException],
    ) -> bool: ...

    def write_events(self, conn: Connection, events: Sequence[PendingEvent]) -> bool: ...

    def committed(self) -> None: ...


@dataclass(slots=True)
class _Job:
    delivery: Delivery
    future: Future[IngestReport] | None
    """Where a thread waits (:meth:`GroupCommitWriter.submit`)."""
    waiter: asyncio.Future[IngestReport] | None = None
    """Where a coroutine waits (:meth:`GroupCommitWriter.submit_async`), on ``loop``."""
    loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> bool:
        """Whether the delivery is still wanted (its caller did not cancel)."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        return self.waiter is not None and not self.waiter.cancelled()


_SHRINK = _Job(cast(Delivery, None), None)
"""Queued by :meth:`GroupCommitWriter.shrink_memory`: the writer thread drops its cached
pages when it gets there (not a delivery)."""


@dataclass(slots=True)
class _Lane:
    """A connection and a write turn, used by one thread at a time: the writer thread's,
    or the event loop's (see :mod:`alertgate.engine.loopbatch`)."""

    turn: WriteTurn
    busy_timeout_ms: int | None = None
    """The connection's ``busy_timeout`` while the lane holds it (None: the pool's)."""
    conn: Any = None
    pool_busy_timeout_ms: int | None = None
    """The pool's value, restored when the connection goes back."""


def _settle(items: list[tuple[asyncio.Future[IngestReport], IngestReport | BaseException]]) -> None:
    """Resolve one batch's coroutine waiters, on their event loop."""
    for waiter, outcome in items:
        if waiter.done():  # cancelled meanwhile
            continue
        if isinstance(outcome, BaseException):
            waiter.set_exception(outcome)
        else:
            waiter.set_result(outcome)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _wanted(batch: list[_Job]) -> list[_Job]:
    """The jobs of a batch whose callers still wait, in lock order."""
    return sorted((job for job in batch if job.start()), key=_lock_order)


def _lock_order(job: _Job) -> tuple[int, str]:
    """Sort key for a batch: taking row locks in one global order avoids most deadlocks
    between processes on PostgreSQL. Deliveries of the same key keep their order."""
    alerts = job.delivery.alerts
    return (job.delivery.service_id, alerts[0].fingerprint if alerts else "")


class GroupCommitWriter:
    """The single writer of one process. Thread-safe; start is lazy."""

    def __init__(
        self,
        db_engine: Engine,
        *,
        max_batch: int = 256,
        on_committed: Callable[[list[PendingEvent]], None] | None = None,
        sqlite_on_loop: bool = True,
        outbox: BatchOutbox | None = None,
    ) -> None:
        """:param sqlite_on_loop: Apply :meth:`submit_async` deliveries on their event loop
        (SQLite only; False keeps everything on the writer thread).
        :param outbox: Writes each batch's notifications before its COMMIT."""
        self._engine = db_engine
        self._sql = RawSql(db_engine.dialect.name)
        self._dbapi: Any = db_engine.dialect.loaded_dbapi
        self._transient: tuple[type[BaseException], ...] = (
            self._dbapi.OperationalError,
            self._dbapi.InterfaceError,
        )
        self._max_batch = max_batch
        self._on_committed = on_committed
        self._outbox = outbox
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self._last_alert_written: dict[int, datetime] = {}
        database = None if self._sql.postgresql else db_engine.url.database
        self._lane = _Lane(WriteTurn(database))
        self._checkpointer = (
            WalCheckpointer(db_engine.url.database)
            if self._lane.turn.path is not None and db_engine.url.database
            else None
        )
        self._checkpointer_started = False
        self._loop_lane: _Lane | None = None
        self._loop_batches: LoopBatches[_Job] | None = None
        self._loop_lock = threading.Lock()  # the loop lane's connection vs close()
        self._after_shrink: Callable[[], object] | None = None
        if sqlite_on_loop and self._lane.turn.path is not None:
            # busy_timeout 0: a lock held outside the turn (CLI, admin API) sends the batch
            # to the thread at once instead of blocking the loop for up to 10 s.
            self._loop_lane = _Lane(WriteTurn(database), busy_timeout_ms=0)
            self._loop_batches = LoopBatches(
                self._loop_lane.turn, self._apply_on_loop, self._hand_to_thread,
                max_batch=max_batch,
            )  # fmt: skip
        self.batches = 0
        self.deliveries = 0

    # -- public ------------------------------------------------------------------------------

    def submit(self, delivery: Delivery) -> Future[IngestReport]:
        """Queue a delivery; the future resolves after the commit that contains it."""
        future: Future[IngestReport] = Future()
        if self._closed:
            future.set_exception(StorageUnavailable("the ingest engine is closed"))
            return future
        self._ensure_started()
        self._queue.put(_Job(delivery, future))
        return future

    def submit_async(self, delivery: Delivery) -> asyncio.Future[IngestReport]:
        """:meth:`submit` for coroutines: an asyncio future of the running loop.

        Cheaper than wrapping :meth:`submit`'s future: the writer wakes each event loop once
        per batch, not once per delivery.
        """
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[IngestReport] = loop.create_future()
        if self._closed:
            waiter.set_exception(StorageUnavailable("the ingest engine is closed"))
            return waiter
        job = _Job(delivery, None, waiter, loop)
        if self._loop_batches is not None:
            if not self._checkpointer_started:
                self._start_checkpointer()
            self._loop_batches.submit(job, loop)
        else:
            self._ensure_started()
            self._queue.put(job)
        return waiter

    def shrink_memory(self, then: Callable[[], object] | None = None) -> None:
        """Drop the pages SQLite caches on the writer's connections (``PRAGMA
        shrink_memory``): after large payloads they hold those pages, up to the cache size
        per lane. The event loop's lane is shrunk now (call this from the loop, between
        batches); the thread's lane when the thread gets to it, which then calls ``then``
        (e.g. to trim the heap). Nothing to do on PostgreSQL (no client page cache)."""
        if self._sql.postgresql:
            return
        if self._loop_lane is not None:
            with self._loop_lock:
                self._shrink_lane(self._loop_lane)
        with self._start_lock:
            if self._thread is not None and not self._closed:
                self._after_shrink = then
                self._queue.put(_SHRINK)

    def _shrink_lane(self, lane: _Lane) -> None:
        if lane.conn is not None:
            lane.conn.driver_connection.execute("PRAGMA shrink_memory")

    def _shrink_thread_lane(self) -> None:
        try:
            self._shrink_lane(self._lane)
            then, self._after_shrink = self._after_shrink, None
            if then is not None:
                then()
        except Exception:  # memory hygiene must never stop the writer
            log.warning("shrinking the writer's cache failed", exc_info=True)

    def close(self, timeout: float = 30.0) -> None:
        """Apply what is queued, then stop the thread and return the connection."""
        with self._start_lock:
            self._closed = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
        if self._loop_lane is not None:
            with self._loop_lock:
                self._release_connection(self._loop_lane)
                self._loop_lane.turn.close()
        if self._checkpointer is not None:
            self._checkpointer.stop()

    # -- the thread --------------------------------------------------------------------------

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            self._start_thread()

    def _start_thread(self) -> None:
        """Start the writer thread (and the checkpointer) once; the start lock is held."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alertgate-writer", daemon=True)
            self._thread.start()
        self._start_checkpointer_locked()

    def _start_checkpointer(self) -> None:
        with self._start_lock:
            self._start_checkpointer_locked()

    def _start_checkpointer_locked(self) -> None:
        if self._checkpointer is not None and not self._checkpointer_started:
            self._checkpointer.start()
        self._checkpointer_started = True

    def _run(self) -> None:
        stopping = False
        try:
            while not stopping:
                job = self._queue.get()
                if job is None:
                    break
                if job is _SHRINK:
                    self._shrink_thread_lane()
                    continue
                # Drain only once it is our turn: what queued while another process was
                # writing joins this batch instead of waiting for the next one.
                with self._lane.turn:
                    batch, stopping = self._drain(job)
                    finished = self._apply_batch(batch)
                self._finish(finished)
        finally:
            self._release_connection(self._lane)
            self._lane.turn.close()

    def _drain(self, first: _Job) -> tuple[list[_Job], bool]:
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                return batch, True
            if nxt is _SHRINK:  # the next release will do; this batch is busy
                continue
            batch.append(nxt)
        return batch, False

    def _process(self, batch: list[_Job]) -> None:
        """Apply a batch and hand out its outcomes (the turn, if any, is the caller's)."""
        self._finish(self._apply_batch(batch))

    def _apply_batch(self, batch: list[_Job]) -> list[tuple[_Job, Applied | BaseException]]:
        """Apply a batch in one transaction on the thread's lane (retrying transient
        failures); the outcome of every job, for :meth:`_finish` to hand out once the write
        turn is released."""
        jobs = _wanted(batch)
        if not jobs:
            return []
        error: BaseException | None = None
        for attempt in range(MAX_BATCH_ATTEMPTS):
            try:
                results = self._transaction(self._lane, jobs)
                break
            except self._transient as exc:
                error = exc
                log.warning("batch of %d deliveries failed (%r); retrying", len(jobs), exc)
                self._discard_connection(self._lane)
                time.sleep(min(0.01 * 2**attempt, 0.5))
            except BaseException as exc:  # a bug: fail the batch, keep the writer alive
                return self._failed(self._lane, jobs, exc)
        else:
            unavailable = StorageUnavailable(f"database unavailable: {error!r}")
            return [(job, unavailable) for job in jobs]
        return self._committed(jobs, results)

    def _failed(
        self, lane: _Lane, jobs: list[_Job], exc: BaseException
    ) -> list[tuple[_Job, Applied | BaseException]]:
        """A batch that failed unexpectedly (a bug): every job gets the error, and the
        lane's connection, in an unknown state, is dropped."""
        log.exception("batch of %d deliveries failed", len(jobs))
        self._discard_connection(lane)
        return [(job, exc) for job in jobs]

    def _committed(
        self, jobs: list[_Job], results: list[Applied | BaseException]
    ) -> list[tuple[_Job, Applied | BaseException]]:
        self.batches += 1
        self.deliveries += len(jobs)
        return list(zip(jobs, results, strict=True))

    # -- the event loop's lane (SQLite) --------------------------------------------------------

    def _apply_on_loop(self, batch: list[_Job]) -> None:
        """Apply a batch on the event loop, the loop lane's turn held: one attempt, and a
        transient failure (e.g. a lock held outside the turn) hands the batch to the thread,
        which may wait and retry."""
        assert self._loop_lane is not None
        with self._loop_lock:
            if self._closed:
                closed = StorageUnavailable("the ingest engine is closed")
                self._finish([(job, closed) for job in batch])
                return
            jobs = _wanted(batch)
            if not jobs:
                return
            try:
                results = self._transaction(self._loop_lane, jobs)
            except self._transient as exc:
                log.debug("batch of %d on the event loop: %r; handing it over", len(jobs), exc)
                self._discard_connection(self._loop_lane)
                self._hand_to_thread(jobs)
                return
            except BaseException as exc:  # a bug: fail the batch, keep the loop alive
                finished = self._failed(self._loop_lane, jobs, exc)
            else:
                finished = self._committed(jobs, results)
        self._finish(finished)

    def _hand_to_thread(self, jobs: list[_Job]) -> None:
        with self._start_lock:
            # Queued under the lock: close() queues its stop marker after these, never before.
            if not self._closed:
                self._start_thread()
                for job in jobs:
                    self._queue.put(job)
                return
        unavailable = StorageUnavailable("the ingest engine is closed")
        self._finish([(job, unavailable) for job in jobs])

    def _finish(self, finished: list[tuple[_Job, Applied | BaseException]]) -> None:
        events = [
            event
            for _, outcome in finished
            if isinstance(outcome, Applied)
            for event in outcome.events
        ]
        if events and self._on_committed is not None:
            try:
                self._on_committed(events)
            except Exception:  # notifications must never fail a committed delivery
                log.exception("could not queue lifecycle notifications")
        waiting: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for job, outcome in finished:
            result = IngestReport(outcome.outcomes) if isinstance(outcome, Applied) else outcome
            if job.future is not None:
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)
            elif job.waiter is not None and job.loop is not None:
                waiting.setdefault(job.loop, []).append((job.waiter, result))
        for loop, items in waiting.items():
            if _running_loop() is loop:  # the loop's own lane: no wake-up needed
                _settle(items)
                continue
            try:
                loop.call_soon_threadsafe(_settle, items)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                log.debug("event loop closed before %d deliveries were answered", len(items))

    # -- one transaction ---------------------------------------------------------------------

    def _transaction(self, lane: _Lane, jobs: Sequence[_Job]) -> list[Applied | BaseException]:
        conn = self._connection(lane)
        cur = conn.cursor()
        sql = self._sql
        try:
            if sql.postgresql:
                results = self._pg_pipelined(conn, cur, jobs)
            else:
                results = self._sqlite_optimistic(conn, cur, jobs)
            self._touch_integrations(cur, jobs, results)
            queued = self._queue_notifications(cur, jobs, results)
            conn.commit()
            if queued:
                self._outbox.committed()  # type: ignore[union-attr]
            return results
        except BaseException:
            try:
                conn.rollback()
            except Exception:  # the connection is gone; it gets discarded by the caller
                log.debug("rollback failed", exc_info=True)
            raise
        finally:
            try:
                cur.close()
            except Exception:
                log.debug("cursor close failed", exc_info=True)

    def _sqlite_optimistic(
        self, conn: Any, cur: Any, jobs: Sequence[_Job]
    ) -> list[Applied | BaseException]:
        """SQLite fast path: the batch without per-delivery savepoints.

        Failures are rare, so savepoints are only paid for when one happens: the batch is
        rolled back and applied again with a savepoint per delivery.
        """
        cur.execute(self._sql.begin)
        try:
            return [apply_delivery(cur, self._sql, job.delivery) for job in jobs]
        except self._transient:
            raise
        except Exception:
            log.debug("batch failed; applying delivery by delivery", exc_info=True)
            conn.rollback()
            cur.execute(self._sql.begin)
            return [self._apply_one(cur, job.delivery) for job in jobs]

    def _pg_pipelined(
        self, conn: Any, cur: Any, jobs: Sequence[_Job]
    ) -> list[Applied | BaseException]:
        """PostgreSQL fast path: every alert of the batch in one pipelined round trip.

        Should any call fail (a bad delivery, a unique-violation race with another
        process), the batch is rolled back and applied again the careful way: one savepoint
        per delivery, so the failure stays with its delivery.
        """
        params = []
        owners: list[tuple[int, Alert]] = []
        try:
            for index, job in enumerate(jobs):
                for alert in job.delivery.alerts:
                    params.append(pg_alert_params(job.delivery, alert))
                    owners.append((index, alert))
            rows: list[Any] = []
            if params:
                cur.executemany(PG_APPLY_ALERT, params, returning=True)
                while True:
                    rows.append(cur.fetchone())
                    if not cur.nextset():
                        break
            results = [Applied() for _ in jobs]
            for (index, alert), row in zip(owners, rows, strict=True):
                collect_pg_row(results[index], cur, self._sql, jobs[index].delivery, alert, row)
            # Integration rows are locked in id order (stable: a row's updates keep their
            # delivery order), like _touch_integrations, so two writers cannot deadlock.
            apply_state_batch(cur, self._sql, [job.delivery for job in jobs])
            return list(results)
        except self._transient:
            raise
        except Exception:
            log.debug("pipelined batch failed; applying delivery by delivery", exc_info=True)
            conn.rollback()
            return [self._apply_one(cur, job.delivery) for job in jobs]

    def _apply_one(self, cur: Any, delivery: Delivery) -> Applied | BaseException:
        last: BaseException | None = None
        for _ in range(MAX_DELIVERY_ATTEMPTS):
            cur.execute("SAVEPOINT delivery")
            try:
                applied = apply_delivery(cur, self._sql, delivery)
            except self._transient:
                raise
            except self._dbapi.IntegrityError as exc:
                # Another process committed the same dedupe key or opened the incident
                # first; applying again sees its row.
                last = exc
                self._rollback_savepoint(cur)
                continue
            except Exception as exc:
                self._rollback_savepoint(cur)
                log.exception("delivery to integration %s failed", delivery.integration_id)
                return exc
            cur.execute("RELEASE SAVEPOINT delivery")
            return applied
        log.error("delivery to integration %s kept conflicting: %r", delivery.integration_id, last)
        return StorageUnavailable(f"delivery kept conflicting with concurrent writers: {last!r}")

    @staticmethod
    def _rollback_savepoint(cur: Any) -> None:
        cur.execute("ROLLBACK TO SAVEPOINT delivery")
        cur.execute("RELEASE SAVEPOINT delivery")

    def _queue_notifications(
        self, cur: Any, jobs: Sequence[_Job], results: Sequence[Applied | BaseException]
    ) -> bool:
        """The outbox rows of the batch's incident changes, in its transaction."""
        if self._outbox is None:
            return False
        return self._outbox.write_batch(cur, self._sql, [job.delivery for job in jobs], results)

    def _touch_integrations(
        self, cur: Any, jobs: Sequence[_Job], results: Sequence[Applied | BaseException]
    ) -> None:
        newest: dict[int, datetime] = {}
        for job, result in zip(jobs, results, strict=True):
            if isinstance(result, Applied) and result.stored:
                iid = job.delivery.integration_id
                at = to_utc(job.delivery.received_at)
                if iid not in newest or newest[iid] < at:
                    newest[iid] = at
        for iid in sorted(newest):
            at = newest[iid]
            written = self._last_alert_written.get(iid)
            if written is not None and at - written < LAST_ALERT_RESOLUTION:
                continue
            value = self._sql.dt(at)
            cur.execute(self._sql.update_last_alert, (value, iid, value))
            self._last_alert_written[iid] = at

    # -- the connection ----------------------------------------------------------------------

    def _connection(self, lane: _Lane) -> Any:
        if lane.conn is None:
            conn: Any = self._engine.raw_connection()
            if not self._sql.postgresql:
                raw = conn.driver_connection
                # Autocommit mode: the writer issues BEGIN IMMEDIATE itself, so it takes the
                # write lock up front instead of failing to upgrade a read lock later.
                raw.isolation_level = None
                raw.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
                if self._checkpointer is not None:
                    # Checkpoints happen on the checkpointer's thread, outside commits.
                    raw.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
                if lane.busy_timeout_ms is not None:
                    lane.pool_busy_timeout_ms = raw.execute("PRAGMA busy_timeout").fetchone()[0]
                    raw.execute(f"PRAGMA busy_timeout={int(lane.busy_timeout_ms)}")
            lane.conn = conn
        return lane.conn

    def _discard_connection(self, lane: _Lane) -> None:
        conn, lane.conn = lane.conn, None
        self._last_alert_written.clear()
        if conn is not None:
            try:
                conn.invalidate()
            except Exception:
                log.debug("invalidate failed", exc_info=True)

    def _release_connection(self, lane: _Lane) -> None:
        conn, lane.conn = lane.conn, None
        if conn is None:
            return
        try:
            if not self._sql.postgresql:
                raw = conn.driver_connection
                raw.isolation_level = ""
                raw.execute(f"PRAGMA cache_size=-{POOL_CACHE_KIB}")
                if self._checkpointer is not None:  # back to SQLite's default for the pool
                    raw.execute("PRAGMA wal_autocheckpoint=1000")
                if lane.pool_busy_timeout_ms is not None:
                    raw.execute(f"PRAGMA busy_timeout={int(lane.pool_busy_timeout_ms)}")
            conn.close()
        except Exception:
            log.debug("closing the writer connection failed", exc_info=True)
