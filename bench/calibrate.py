"""How fast this interpreter runs Python on this machine right now: a yardstick for rates.

On one virtual machine, within one hour, the same alertgate code took 0.51 to 0.85 ms of CPU
per delivery: the machine's speed drifts (a pure-Python loop took 17 to 48 ms within a
minute), and the CPython build alone moved it by 10-20 % (docs/performance.md). A rate
means little without knowing what it ran under, so the report names the interpreter and
every phase records this figure before and after its load: the best of a few runs of a
fixed pure-Python workload (dict and string work, calls, formatting: the kind of code the
hot path is made of), in milliseconds. Lower is faster.
"""

from __future__ import annotations

import sys
import time
from typing import Any


def _workload() -> int:
    total = 0
    for i in range(20_000):
        record = {"id": i, "name": f"alarm-{i}", "state": "ALARM" if i % 3 else "OK"}
        text = record["name"].strip().upper()
        if record["state"] == "ALARM" and text.startswith("ALARM"):
            total += len(text) + record["id"] % 7
        total += len(str(record))
    return total


def speed_ms(rounds: int = 5) -> float:
    """Best of ``rounds`` timings of the fixed workload, in ms (lower is faster)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        _workload()
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 2)


def interpreter() -> dict[str, Any]:
    """Which CPython build runs the benchmark (and, started through it, the server)."""
    # Whether the build used PGO/LTO is not reported: sysconfig does not tell reliably
    # (Debian's optimized build shows neither option), the yardstick does.
    return {
        "executable": sys.executable,
        "version": sys.version.split()[0],
        "speed_ms": speed_ms(),
    }
