"""Whose turn it is to write: a cross-process handoff for writers sharing one SQLite file.

SQLite serializes writers itself, but a process that finds the database locked polls:
its busy handler sleeps 1, 2, 5, 10 … up to 100 ms between attempts. With several server
workers on one file that turns every lost race into idle time (measured: the two workers
of ``python -m bench`` kept only 1.2 of 2 cores busy, and the p99 reached half a second).

A blocking ``flock`` on a lock file beside the database wakes the next writer the moment
the current one releases it, so the processes take turns without sleeping. SQLite's own
lock stays the authority: the turn only decides who asks first, and writers that do not
take it (CLI commands, the admin API) still queue on ``busy_timeout`` as before.
"""

from __future__ import annotations

import logging
import os
import threading
from types import TracebackType

try:  # POSIX only; elsewhere writers fall back to SQLite's busy handler alone.
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms we test
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

LOCK_SUFFIX = "-alertgate-writer.lock"


class WriteTurn:
    """A reusable exclusive lock shared by every process writing to one database file.

    Each instance opens the lock file once; two instances exclude each other even within
    one process (``flock`` locks belong to the open file), so a process's writer and its
    WAL checkpointer take turns too. For the same reason ``flock`` would let every thread
    of one instance in at once (the event loops of one process share the loop lane's
    turn), so a thread lock makes an instance exclusive between its own users as well.

    :param database_path: The SQLite database file; ``None`` (PostgreSQL, in-memory
        SQLite) makes the turn a no-op.
    """

    def __init__(self, database_path: str | None) -> None:
        self.path = (
            database_path + LOCK_SUFFIX
            if database_path and database_path != ":memory:" and fcntl is not None
            else None
        )
        self._fd: int | None = None
        self._holder = threading.Lock()
        if self.path is not None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                # A read-only folder must not stop ingest: SQLite's busy handler still works.
                log.warning(
                    "cannot open the writer lock %s (%s); writers will poll", self.path, exc
                )
                self.path = None

    def __enter__(self) -> WriteTurn:
        if self._fd is not None:
            self._holder.acquire()
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX)  # blocks without the GIL until our turn
            except BaseException:
                self._holder.release()
                raise
        return self

    def try_acquire(self) -> bool:
        """Take the turn if nobody holds it, without waiting (for an event loop, which
        must not block); True when taken (always, for a no-op turn). Release with
        :meth:`release`."""
        if self._fd is None:
            return True
        if not self._holder.acquire(blocking=False):
            return False
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._holder.release()
            return False
        except BaseException:
            self._holder.release()
            raise
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            self._holder.release()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def close(self) -> None:
        """Close the lock file (the lock itself is released on every exit); the turn is a
        no-op afterwards."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
