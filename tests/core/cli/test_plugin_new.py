"""``alertgate plugin new``: a package that installs, is listed and passes its own tests.

The fast tests run the generated tests in a subprocess whose ``sys.path`` holds the
generated ``src/`` and the ``*.dist-info`` pip would write for it (real entry points, no
mock); the slow test really runs ``pip install -e`` in a fresh virtual environment.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from click.testing import CliRunner

import alertgate
from alertgate.cli import main
from alertgate.scaffold import hook_api_range
from tests.conftest import write_dist_info

RUN_CLI = "from alertgate.cli import main; main()"


def new(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["plugin", "new", *args])
    return result.exit_code, result.output


def generated_env(package: Path, site: Path, slug: str) -> dict[str, str]:
    """The environment of a process that sees the package as pip would install it."""
    write_dist_info(
        site,
        f"alertgate-{slug.replace('_', '-')}",
        "0.1.0",
        f"[alertgate.plugins]\n{slug} = alertgate_{slug}\n",
    )
    paths = [str(site), str(package / "src"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def run(
    python: str | Path, args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python args...`` in ``cwd``; the caller checks the outcome."""
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]
PLUGINS_JSON = ["-c", RUN_CLI, "plugins", "--json"]


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("gen") / "pkg"
    code, output = new("shiny_hook", "--directory", str(target))
    assert code == 0, output
    return target


def test_layout(package: Path) -> None:
    files = sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file())
    assert files == [
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "src/alertgate_shiny_hook/__init__.py",
        "tests/samples/firing.json",
        "tests/samples/resolved.json",
        "tests/test_shiny_hook.py",
    ]
    pyproject = (package / "pyproject.toml").read_text()
    assert (
        '[project.entry-points."alertgate.plugins"]\nshiny_hook = "alertgate_shiny_hook"'
        in pyproject
    )
    assert 'name = "alertgate-shiny-hook"' in pyproject


def test_plugin_uses_only_the_public_api_and_declares_its_range(package: Path) -> None:
    source = (package / "src/alertgate_shiny_hook/__init__.py").read_text()
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("alertgate"):
            assert node.module == "alertgate", f"imports internal module {node.module}"
            imported |= {alias.name for alias in node.names}
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith("alertgate") for a in node.names)
    assert imported <= set(alertgate.__all__)
    assert f'ALERTGATE_HOOK_API = "{hook_api_range()}"' in source
    assert hook_api_range("1.0") == ">=1.0,<2"
    assert hook_api_range("3.2") == ">=3.2,<4"


def test_generated_tests_pass_and_plugins_lists_it(package: Path, tmp_path: Path) -> None:
    env = generated_env(package, tmp_path / "site", "shiny_hook")
    tests = run(sys.executable, PYTEST, package, env)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "4 passed" in tests.stdout
    listed = run(sys.executable, PLUGINS_JSON, tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    [row] = [r for r in json.loads(listed.stdout) if r["slug"] == "shiny_hook"]
    assert (row["distribution"], row["builtin"]) == ("alertgate-shiny-hook", False)


def test_generated_tests_can_fail(package: Path, tmp_path: Path) -> None:
    """The generated tests check the plugin: break its resolve detection, they fail."""
    broken = tmp_path / "broken"
    code, _ = new("shiny_hook", "--directory", str(broken))
    assert code == 0
    plugin = broken / "src/alertgate_shiny_hook/__init__.py"
    plugin.write_text(plugin.read_text().replace('== "resolved"', '== "never"'))
    env = generated_env(broken, tmp_path / "site", "shiny_hook")
    tests = run(sys.executable, PYTEST, broken, env)
    assert tests.returncode == 1
    assert "resolve[0] did not resolve what trigger[0] opened" in tests.stdout


def test_default_directory_is_alertgate_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = new("pager_x")
    assert code == 0, output
    assert (tmp_path / "alertgate-pager_x" / "src" / "alertgate_pager_x" / "__init__.py").is_file()


def test_empty_existing_directory_is_used(tmp_path: Path) -> None:
    code, output = new("pager_x", "--directory", str(tmp_path))
    assert code == 0, output
    assert (tmp_path / "pyproject.toml").is_file()


def test_refuses_to_overwrite(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    code, output = new("pager_x", "--directory", str(tmp_path))
    assert code == 1
    assert "not an empty directory" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    "name",
    ["X", "a", "Grafana", "my-hook", "1hook", "hook_", "my__hook", "class", "a" * 41, "é_hook"],
)
def test_invalid_names_are_usage_errors(name: str, tmp_path: Path) -> None:
    code, output = new(name, "--directory", str(tmp_path / "out"))
    assert code == 2, output
    assert "NAME" in output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_pip_install_e_into_a_fresh_venv(tmp_path: Path) -> None:
    package = tmp_path / "alertgate-shiny-hook"
    assert new("shiny_hook", "--directory", str(package))[0] == 0
    venv = tmp_path / "venv"
    assert run(sys.executable, ["-m", "venv", str(venv)], tmp_path).returncode == 0
    python = venv / "bin" / "python"
    purelib = ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    fresh_site = Path(run(python, purelib, tmp_path).stdout.strip())
    # alertgate and its dependencies come from this environment; the plugin is pip's job.
    ours = sysconfig.get_paths()["purelib"]
    pth = fresh_site / "alertgate-under-test.pth"
    pth.write_text(f"import site; site.addsitedir({ours!r})\n")
    # A virtualenv of Python 3.11 still seeds setuptools 65, too old for editable installs.
    pip = ["-m", "pip", "install", "-q"]
    upgraded = run(python, [*pip, "setuptools>=70.1"], tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    install = run(python, [*pip, "--no-deps", "--no-build-isolation", "-e", str(package)], tmp_path)
    assert install.returncode == 0, install.stdout + install.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    listed = run(python, PLUGINS_JSON, tmp_path, env)
    assert listed.returncode == 0, listed.stderr
    assert "alertgate-shiny-hook" in {r["distribution"] for r in json.loads(listed.stdout)}
    tests = run(python, PYTEST, package, env)
    assert tests.returncode == 0, tests.stdout + tests.stderr
