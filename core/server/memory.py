"""Give memory back after large request bodies: shrink SQLite's page caches, trim the heap.

A worker that took a burst of large deliveries (SNS messages up to 256 KiB) kept ~35 MB
more than before it, long after: the ingest writer's SQLite page cache (up to 32 MB per
lane) full of the payload pages just written, and glibc's heap, whose freed chunks stay
mapped (large allocations that once went to ``mmap`` go to the heap after glibc raises its
dynamic threshold). Neither is a leak, both are bounded, but neither goes back by itself.

So the Integration URL notes every large body (:meth:`MemoryReleaser.note`); once no large
body has arrived for :data:`IDLE_SECONDS` (and at most every :data:`MIN_INTERVAL_SECONDS`),
the event loop asks the ingest engine to drop its cached pages (``PRAGMA shrink_memory``)
and calls glibc's ``malloc_trim(0)``, which returns free heap pages to the system. Ordinary
small deliveries never trigger it, so the hot path's cache stays warm.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

LARGE_BODY_BYTES = 64 * 1024
"""A body at least this large schedules a release (typical alarms are 2-4 KB)."""
IDLE_SECONDS = 2.0
"""Release once no large body has arrived for this long."""
MIN_INTERVAL_SECONDS = 10.0
"""Never release more often than this (a release costs a few milliseconds of the loop)."""


def _load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or ``None`` (musl, macOS: nothing to call)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_MALLOC_TRIM = _load_malloc_trim()


def trim_heap() -> bool:
    """Return the C heap's free pages to the system; whether glibc did anything."""
    return bool(_MALLOC_TRIM(0)) if _MALLOC_TRIM is not None else False


class MemoryReleaser:
    """Schedules :meth:`release` on the event loop after a burst of large bodies ends."""

    def __init__(
        self, shrink_caches: Callable[[], None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._shrink_caches = shrink_caches
        self._clock = clock
        self._last_large = 0.0
        self._last_release = -MIN_INTERVAL_SECONDS
        self._scheduled = False
        self.releases = 0

    def note(self, body_bytes: int) -> None:
        """A request body of ``body_bytes`` was read (called on the event loop)."""
        if body_bytes < LARGE_BODY_BYTES:
            return
        self._last_large = self._clock()
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(IDLE_SECONDS, self._check)

    def _check(self) -> None:
        now = self._clock()
        due = max(self._last_large + IDLE_SECONDS, self._last_release + MIN_INTERVAL_SECONDS)
        if now < due:
            asyncio.get_running_loop().call_later(due - now, self._check)
            return
        self._scheduled = False
        self.release()

    def release(self) -> None:
        """Drop the engine's cached pages and trim the heap, now."""
        self._last_release = self._clock()
        self.releases += 1
        try:
            self._shrink_caches()
        except Exception:  # memory hygiene must never disturb serving
            log.warning("shrinking the database caches failed", exc_info=True)
        trim_heap()
