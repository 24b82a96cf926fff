"""Another process holding the SQLite write turn: for tests of writers that must wait for it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.paths import ROOT_DIR

HOLDER = """
import sys
from alertgate.engine.writeturn import WriteTurn
turn = WriteTurn(sys.argv[1])
with turn:
    print("held", flush=True)
    sys.stdin.readline()
"""


class TurnHolder:
    """Another process holding the write turn of a database file until released."""

    def __init__(self, database: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, database],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT_DIR,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        assert self.proc.wait(timeout=30) == 0


@pytest.fixture
def holder_factory() -> Iterator[list[TurnHolder]]:
    holders: list[TurnHolder] = []
    yield holders
    for holder in holders:
        if holder.proc.poll() is None:
            holder.proc.kill()
            holder.proc.wait()
