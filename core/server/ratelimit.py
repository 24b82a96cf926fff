"""Per-integration rate limits at the Integration URL: a token bucket per integration.

Each worker process keeps its own buckets (no shared state on the hot path, one dict
lookup and a little arithmetic per delivery), so with ``--workers N`` an integration may
receive up to N times its limit in total. A bucket holds one minute's worth of deliveries
and refills continuously, so a sender that keeps under the limit on average may burst.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MAX_BUCKETS = 100_000
"""Buckets kept per worker; beyond this they are all forgotten (full again), bounded."""


class RateLimiter:
    """Token buckets keyed by integration id; used from the event loop only (no lock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # integration id -> (tokens left, time of the last refill, limit it was made for)
        self._buckets: dict[int, tuple[float, float, int]] = {}

    def check(self, integration_id: int, per_minute: int) -> int:
        """Take one delivery from the integration's bucket.

        :param per_minute: The limit; 0 or less means unlimited.
        :return: 0 when the delivery may proceed, else the whole seconds after which the
            next one will be allowed (for ``Retry-After``).
        """
        if per_minute <= 0:
            return 0
        now = self._clock()
        rate = per_minute / 60.0
        entry = self._buckets.get(integration_id)
        if entry is None or entry[2] != per_minute:
            tokens = float(per_minute)
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
        else:
            tokens = min(float(per_minute), entry[0] + (now - entry[1]) * rate)
        if tokens >= 1.0:
            self._buckets[integration_id] = (tokens - 1.0, now, per_minute)
            return 0
        self._buckets[integration_id] = (tokens, now, per_minute)
        return max(1, math.ceil((1.0 - tokens) / rate))
