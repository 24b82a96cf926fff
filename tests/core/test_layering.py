"""The layers, enforced: the core never imports a plugin, and the server side never the CLI.

Every module under core/ is parsed (not imported) and each ``import`` / ``from ... import``
is checked, including imports inside functions and ``TYPE_CHECKING`` blocks: a lazy import
is still a dependency. Relative imports are resolved against the module's package.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.paths import ROOT_DIR

CORE = ROOT_DIR / "core"
PACKAGE = "alertgate"

PLUGIN_PACKAGES = ("alertgate.plugins", "plugins")
"""What the core must not import (``plugins`` is the folder's name outside the package)."""

NO_CLI_FROM = ("alertgate.server", "alertgate.engine", "alertgate.storage", "alertgate.web")
"""Layers that must not import ``alertgate.cli``: the CLI sits on top of them."""


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports {self.imported} ({self.rule})"


def module_name(path: Path, root: Path = CORE) -> str:
    """``core/server/api.py`` -> ``alertgate.server.api`` (``__init__`` is its package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from alertgate import plugins`` imports the subpackage too.
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def check_source(source: str, path: str, module: str, is_package: bool = False) -> list[Violation]:
    """The layering violations of one module's source."""
    found: list[Violation] = []
    seen: set[tuple[int, str]] = set()
    for line, imported in _imports(ast.parse(source, path), module, is_package):
        rule = None
        if _within(imported, PLUGIN_PACKAGES):
            rule = "the core must not import plugins; add a hook instead"
        elif _within(imported, ("alertgate.cli",)) and _within(module, NO_CLI_FROM):
            rule = f"{module.split('.')[1]} must not import the CLI"
        if rule and (line, rule) not in seen:
            seen.add((line, rule))
            found.append(Violation(path, line, imported, rule))
    return found


def check_tree(root: Path = CORE, base: Path = ROOT_DIR) -> list[Violation]:
    """The violations of every module under ``root`` (paths shown relative to ``base``)."""
    found: list[Violation] = []
    for path in sorted(root.rglob("*.py")):
        found += check_source(
            path.read_text(encoding="utf-8"),
            str(path.relative_to(base)),
            module_name(path, root),
            is_package=path.name == "__init__.py",
        )
    return found


def test_core_imports_no_plugin_and_the_server_side_no_cli() -> None:
    assert [str(v) for v in check_tree()] == []


def test_the_walk_covers_every_layer() -> None:
    names = {module_name(p) for p in CORE.rglob("*.py")}
    for layer in ("cli", "server", "engine", "storage", "web"):
        assert any(n.startswith(f"alertgate.{layer}.") for n in names), layer


@pytest.mark.parametrize(
    ("source", "module", "imported"),
    [
        ("import alertgate.plugins.aws_sns\n", "alertgate.cli.demo_cmd",
         "alertgate.plugins.aws_sns"),
        ("from alertgate.plugins.aws_sns.signer import SnsSigner\n", "alertgate.web.app",
         "alertgate.plugins.aws_sns.signer"),
        ("from alertgate import plugins\n", "alertgate.settings", "alertgate.plugins"),
        ("import plugins.aws_sns\n", "alertgate.registry", "plugins.aws_sns"),
        ("def f():\n    from ..plugins import aws_sns\n", "alertgate.cli.sns_cmd",
         "alertgate.plugins"),
        ("from alertgate.cli.plugins_cmd import plugin_rows\n", "alertgate.server.api",
         "alertgate.cli.plugins_cmd"),
        ("from ..cli import output\n", "alertgate.web.views", "alertgate.cli"),
        ("import alertgate.cli\n", "alertgate.engine.apply", "alertgate.cli"),
        ("if TYPE_CHECKING:\n    from alertgate.cli.context import Db\n",
         "alertgate.storage.database", "alertgate.cli.context"),
    ],
)  # fmt: skip
def test_the_checker_catches_a_bad_import(source: str, module: str, imported: str) -> None:
    lines = source.count("\n")
    (violation,) = check_source(source, "core/x.py", module)
    assert violation.imported == imported
    assert violation.path == "core/x.py" and 1 <= violation.line <= lines
    assert str(violation).startswith(f"core/x.py:{violation.line}: imports {imported}")


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("from alertgate.registry import load_plugins\n", "alertgate.server.app"),
        ("from alertgate.cli.output import echo_json\n", "alertgate.cli.db_cmd"),
        ("from alertgate.server import admin\n", "alertgate.cli.demo_cmd"),
        ("from . import plugins_cmd\n", "alertgate.cli"),
        ("import pluggy\n", "alertgate.registry"),
    ],
)
def test_the_checker_allows_the_layers_own_imports(source: str, module: str) -> None:
    assert check_source(source, "core/x.py", module, is_package=module == "alertgate.cli") == []


def test_a_new_bad_module_fails_the_tree_check(tmp_path: Path) -> None:
    root = tmp_path / "core"
    (root / "server").mkdir(parents=True)
    (root / "server" / "__init__.py").write_text("")
    (root / "server" / "fine.py").write_text("from alertgate.registry import plugin_rows\n")
    (root / "server" / "bad.py").write_text(
        '"""Doc."""\n\nfrom alertgate.cli.plugins_cmd import plugins\n'
    )
    assert check_tree(root, base=tmp_path) == [
        Violation(
            "core/server/bad.py", 3, "alertgate.cli.plugins_cmd", "server must not import the CLI"
        )
    ]
