"""``python -m bench.flood`` runs end to end at a tiny scale (its latency figures are not
checked: tests never time things; what the run counted is)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import flood

pytestmark = [
    pytest.mark.bench,
    pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk"),
]


def test_flood_bench_runs_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "flood.json"
    argv = ["--seconds", "1", "--rounds", "1", "--rate", "50", "--connections", "8",
            "--flood-bodies", "20", "--flood-limit", "6", "--out", str(out)]  # fmt: skip
    assert flood.main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["b_all_answered_200"]
    assert len(summary["p99_ratios_flood_to_normal"]) == 1
    a = summary["a_flood"][0]["statuses"]
    assert a["429"] > 0  # the flood went past A's limit
    # Each worker let through at most its bucket (a minute's worth, 6) and its refill.
    assert a.get("200", 0) <= 2 * 6 + 2
    phases = json.loads(out.read_text())["phases"]
    assert [p["steady"]["requests"] for p in phases] == [50, 50]
