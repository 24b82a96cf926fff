"""Run mypy on the `alertgate` package as it is installed, from this checkout.

The import name `alertgate` maps to core/ and `alertgate.plugins` to plugins/
(pyproject's `package-dir`). mypy cannot follow setuptools' editable-install finder, so
this builds that tree out of symlinks in a temporary folder and checks it there; errors
name the checkout's own paths.

Usage: python scripts/typecheck.py [extra mypy arguments]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build_tree(into: Path) -> Path:
    """Lay out `alertgate/` (core's entries plus `plugins/`) as symlinks under *into*."""
    package = into / "alertgate"
    package.mkdir()
    for entry in (ROOT / "core").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    (package / "plugins").symlink_to(ROOT / "plugins")
    return package


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="alertgate-typecheck-") as tmp:
        build_tree(Path(tmp))
        proc = subprocess.run(  # noqa: S603 - fixed argv: this interpreter's mypy
            [
                sys.executable,
                "-m",
                "mypy",
                "--config-file",
                str(ROOT / "pyproject.toml"),
                "--cache-dir",
                str(ROOT / ".mypy_cache"),
                "-p",
                "alertgate",
                *argv,
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "MYPYPATH": tmp},
        )
        out = proc.stdout.replace("alertgate/plugins/", "plugins/").replace("alertgate/", "core/")
        sys.stdout.write(out)
        sys.stderr.write(proc.stderr)
        return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
