"""Memory given back after large bodies (core/server/memory.py): when a release runs.

Whether RSS really returns is measured on a real server by ``tests/bench/test_memory_bench.py``.
"""

from __future__ import annotations

import asyncio

import pytest

from alertgate.server import memory
from alertgate.server.memory import LARGE_BODY_BYTES, MemoryReleaser, trim_heap


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_release_follows_the_end_of_a_burst_of_large_bodies_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memory, "IDLE_SECONDS", 0.01)
    monkeypatch.setattr(memory, "MIN_INTERVAL_SECONDS", 0.05)
    clock = Clock()
    shrunk: list[float] = []
    releaser = MemoryReleaser(lambda: shrunk.append(clock.now), clock)

    async def main() -> None:
        for _ in range(100):
            releaser.note(LARGE_BODY_BYTES - 1)  # ordinary deliveries: nothing to give back
        await asyncio.sleep(0.1)
        assert shrunk == []
        releaser.note(LARGE_BODY_BYTES)
        releaser.note(LARGE_BODY_BYTES * 4)
        assert shrunk == []  # not while the burst may go on
        clock.now += 0.02
        await asyncio.sleep(0.1)
        assert shrunk == pytest.approx([100.02])  # one release for the burst
        releaser.note(LARGE_BODY_BYTES)  # another burst at once
        clock.now += 0.02
        await asyncio.sleep(0.03)
        assert len(shrunk) == 1  # not before the minimum interval
        clock.now += 0.05
        await asyncio.sleep(0.1)
        assert shrunk == pytest.approx([100.02, 100.09])

    asyncio.run(main())
    assert releaser.releases == 2


def test_a_failing_shrink_does_not_stop_the_trim_nor_the_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise RuntimeError("database gone")

    releaser = MemoryReleaser(broken)
    releaser.release()
    assert releaser.releases == 1
    assert "shrinking the database caches failed" in caplog.text
    assert isinstance(trim_heap(), bool)
