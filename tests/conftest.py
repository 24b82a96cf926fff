"""Shared fixtures. Fixture data under tests/fixtures/ is attributed in its SOURCE.md."""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"

InstallPlugin = Callable[..., str]


def write_dist_info(site: Path, distribution: str, version: str, entry_points: str) -> Path:
    """The ``*.dist-info`` folder pip leaves behind: METADATA and entry_points.txt."""
    info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(entry_points)
    importlib.invalidate_caches()
    return info


@pytest.fixture
def install_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallPlugin]:
    """Install a plugin module through a real ``alertgate.plugins`` entry point.

    Writes ``<module>.py`` and a ``<dist>-<version>.dist-info`` (METADATA and
    entry_points.txt) into a fresh folder on ``sys.path``, exactly what pip leaves behind,
    so discovery runs through ``importlib.metadata`` unmocked.
    """
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    installed: list[str] = []

    def install(
        module: str,
        source: str,
        *,
        entry_point: str | None = None,
        distribution: str | None = None,
        version: str = "1.0",
    ) -> str:
        dist = distribution or module.replace("_", "-")
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        write_dist_info(
            site, dist, version, f"[alertgate.plugins]\n{entry_point or module} = {module}\n"
        )
        installed.append(module)
        return entry_point or module

    yield install
    for module in installed:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()


# Database fixtures (db_url over SQLite and PostgreSQL, db_engine, seed): tests/db_fixtures.py;
# holder_factory (another process holding the SQLite write turn): tests/turn_holder.py
pytest_plugins = ["tests.db_fixtures", "tests.turn_holder"]
