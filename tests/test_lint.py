"""ruff and mypy (strict on core/ and plugins/, through scripts/typecheck.py) are part of
the test suite, so CI keeps them clean."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.paths import ROOT_DIR

ROOT = ROOT_DIR


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        [sys.executable, "scripts/typecheck.py"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_static_checks_clean(command: list[str]) -> None:
    if command[0] == "ruff" and shutil.which("ruff") is None:
        command = [sys.executable, "-m", *command]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
