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


def test_pre_commit_runs_the_same_checks() -> None:
    """The pre-commit hooks are the suite's own lint commands, so neither drifts."""
    config = (ROOT / ".pre-commit-config.yaml").read_text()
    for entry in ("entry: ruff check", "entry: ruff format", "entry: python scripts/typecheck.py"):
        assert entry in config, entry


def test_every_package_folder_is_listed_for_setuptools() -> None:
    """pyproject lists the packages by hand (their import names differ from the folders)."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = set()
    for folder, name in (("core", "alertgate"), ("plugins", "alertgate.plugins")):
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *rel)))
    assert found == listed
