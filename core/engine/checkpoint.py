"""WAL checkpoints for SQLite, kept out of the commit path.

By default SQLite checkpoints inside the commit that pushes the WAL past 1,000 pages: the
committing writer copies the WAL back into the database file and fsyncs both while it holds
the write lock, so every process waits for it. Under load that happened every few dozen
milliseconds (the benchmark writes ~4 pages of WAL per delivery); measured with ``python -m
bench``, moving it out of the commit path took two workers from ~2,800 to ~3,650 deliveries/s.

Here one process at a time (elected by a non-blocking ``flock``, so another takes over when
it exits) checkpoints from a thread of its own, every ``interval`` seconds:

1. a PASSIVE checkpoint while writers go on: it copies almost everything and fsyncs, without
   blocking anyone;
2. the same again while holding the write turn (:mod:`alertgate.engine.writeturn`), which copies
   only what was written meanwhile. With every frame copied, the next writer restarts the
   WAL from its beginning, so the file stays small instead of growing under constant load.

The writers' own connections keep a high ``wal_autocheckpoint`` as a backstop should this
thread ever fall behind.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

from alertgate.engine.writeturn import WriteTurn

try:
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms we test
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

ELECTION_SUFFIX = "-alertgate-checkpoint.lock"
BACKSTOP_PAGES = 100_000
"""``wal_autocheckpoint`` of writer connections while a checkpointer runs (~400 MB)."""


class WalCheckpointer:
    """Checkpoints one SQLite database file from a daemon thread; see the module doc.

    :param database_path: The database file.
    :param interval: Seconds between checkpoints.
    """

    def __init__(self, database_path: str, *, interval: float = 0.5) -> None:
        self.path = database_path
        self.interval = interval
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._election_fd: int | None = None
        self._elected = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="alertgate-checkpoint", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._election_fd is not None:
            os.close(self._election_fd)  # releases the election for another process
            self._election_fd = None

    def checkpoint_once(self, conn: sqlite3.Connection, turn: WriteTurn) -> tuple[int, int]:
        """Run steps 1 and 2; returns the WAL's (frames, frames copied) after step 2."""
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        with turn:
            _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        return int(frames), int(copied)

    def _run(self) -> None:
        turn = WriteTurn(self.path)
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.interval):
                if not self._elect():
                    continue
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
                    self.checkpoint_once(conn, turn)
                except sqlite3.Error as exc:
                    log.warning("WAL checkpoint of %s failed: %r", self.path, exc)
                    if conn is not None:
                        conn.close()
                        conn = None
        finally:
            if conn is not None:
                conn.close()
            turn.close()

    def _elect(self) -> bool:
        """Whether this process is the one checkpointing (tried again on every round)."""
        if self._elected:
            return True
        try:
            if self._election_fd is None:
                self._election_fd = os.open(
                    self.path + ELECTION_SUFFIX, os.O_RDWR | os.O_CREAT, 0o600
                )
            fcntl.flock(self._election_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        except OSError as exc:
            log.warning("cannot elect a WAL checkpointer for %s: %s", self.path, exc)
            return False
        self._elected = True
        return True
