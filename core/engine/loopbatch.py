"""Group commit on the event loop itself: SQLite batches applied between the loop's other work.

On SQLite the writer thread cost more than the writing. ``sqlite3`` releases the GIL around
every statement, so a writer thread and the event loop of its own process handed the GIL
back and forth five times per delivery, and each hand-back waited for the loop to reach a
switch point. Applying the batch on the loop that received the deliveries removes the
handoff: measured with ``python -m bench`` (2 workers), server CPU per delivery fell from
0.28 to 0.23 ms and throughput rose by a third (docs/performance.md). SQLite statements
are short and, with ``synchronous=NORMAL`` in WAL mode, a commit does not wait for the disk,
so a batch blocks the loop for about as long as parsing its deliveries took.

The loop must never wait for another process, though. So each drain takes the write turn
(:mod:`alertgate.engine.writeturn`) only if it is free; if another worker or the checkpointer
holds it, the drain tries again :data:`TURN_POLL_SECONDS` later while new deliveries keep
joining the batch, and after :data:`MAX_TURN_WAIT_SECONDS` hands the batch to the writer
thread, which may block. Anything else that could wait (a lock held by a writer outside
the turn, such as the CLI) is the caller's to hand over the same way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from alertgate.engine.writeturn import WriteTurn

TURN_POLL_SECONDS = 0.001
"""How soon a drain that found the turn taken tries again (timers have ms resolution)."""
MAX_TURN_WAIT_SECONDS = 0.1
"""How long a batch waits on the loop for the turn before going to the writer thread.
Another worker's batch holds the turn for a few milliseconds; this bound only matters when
something holds it far longer (a stopped process, a slow disk)."""

JobT = TypeVar("JobT")

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _LoopQueue(Generic[JobT]):
    """What one event loop has queued; touched only from that loop's thread."""

    jobs: list[JobT] = field(default_factory=list)
    scheduled: bool = False
    waiting_since: float | None = None
    """Loop time of the first drain that found the turn taken (None: not waiting)."""


class LoopBatches(Generic[JobT]):
    """Collects jobs per event loop and applies them in batches on that loop.

    :param turn: The write turn of this lane (its own instance: ``flock`` locks belong
        to the open file, so it excludes the writer thread's turn too).
    :param run: Applies a batch; called on the loop with the turn held.
    :param hand_off: Takes a batch the loop gave up waiting for (the writer thread).
    :param max_batch: Most jobs per batch; the rest wait for the next drain.
    """

    def __init__(
        self,
        turn: WriteTurn,
        run: Callable[[list[JobT]], None],
        hand_off: Callable[[list[JobT]], None],
        *,
        max_batch: int,
    ) -> None:
        self._turn = turn
        self._run = run
        self._hand_off = hand_off
        self._max_batch = max_batch
        self._queues: dict[asyncio.AbstractEventLoop, _LoopQueue[JobT]] = {}
        self._lock = threading.Lock()  # guards the dict (one loop per thread, several loops)

    def submit(self, job: JobT, loop: asyncio.AbstractEventLoop) -> None:
        """Queue ``job``; call from ``loop``'s thread."""
        queued = self._queues.get(loop)
        if queued is None:
            with self._lock:
                queued = self._queues.setdefault(loop, _LoopQueue())
        queued.jobs.append(job)
        if not queued.scheduled:
            queued.scheduled = True
            loop.call_soon(self._drain, loop, queued)

    def _drain(self, loop: asyncio.AbstractEventLoop, queued: _LoopQueue[JobT]) -> None:
        queued.scheduled = False
        if not queued.jobs:
            self._forget(loop, queued)
            return
        if self._turn.try_acquire():
            queued.waiting_since = None
            batch = self._take(queued)
            try:
                self._run(batch)
            finally:
                self._turn.release()
        else:
            now = loop.time()
            if queued.waiting_since is None:
                queued.waiting_since = now
            waited = queued.waiting_since
            if now - waited < MAX_TURN_WAIT_SECONDS:
                queued.scheduled = True
                loop.call_later(TURN_POLL_SECONDS, self._drain, loop, queued)
                return
            queued.waiting_since = None
            batch = self._take(queued)
            log.debug(
                "write turn busy for %.0f ms; %d deliveries go to the writer thread",
                (now - waited) * 1000,
                len(batch),
            )
            self._hand_off(batch)
        if queued.jobs:
            queued.scheduled = True
            loop.call_soon(self._drain, loop, queued)
        else:
            self._forget(loop, queued)

    def _take(self, queued: _LoopQueue[JobT]) -> list[JobT]:
        batch = queued.jobs[: self._max_batch]
        del queued.jobs[: self._max_batch]
        return batch

    def _forget(self, loop: asyncio.AbstractEventLoop, queued: _LoopQueue[JobT]) -> None:
        """Drop an idle loop's queue, so a closed loop leaves nothing behind."""
        with self._lock:
            if not queued.jobs and not queued.scheduled and self._queues.get(loop) is queued:
                del self._queues[loop]
