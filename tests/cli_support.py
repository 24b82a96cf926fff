"""Test support for CLI commands on the configured database (a fresh SQLite file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from alertgate.cli import main
from alertgate.settings import get_settings


def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point the CLI at a fresh SQLite database; yields its URL (use as a fixture body)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("ALERTGATE_DATABASE_URL", url)
    monkeypatch.setenv("ALERTGATE_PUBLIC_URL", "https://alertgate.example.com/")
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(*args: str, code: int = 0) -> Result:
    """Invoke ``alertgate ARGS`` and check its exit status."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    return result
