"""``python -m bench.console`` runs end to end on a small volume (its figures are not checked:
tests never time things)."""

from __future__ import annotations

import pytest

from bench import console


def test_console_bench_runs_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert console.main(["--incidents", "1200", "--alerts", "1200", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "1,200 incidents, one of 1,200 alerts" in out
    assert out.count(" ms") == 10  # five pages, median and max each
