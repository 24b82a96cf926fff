"""The CLI and API references keep up with the code."""

from __future__ import annotations

import re

import click

from alertgate.cli import main
from alertgate.server import api
from tests.paths import ROOT_DIR

DOCS = ROOT_DIR / "docs"


def leaf_commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            names.extend(leaf_commands(command, f"{prefix}{name} "))
        else:
            names.append(f"{prefix}{name}")
    return names


def test_every_cli_command_is_in_the_cli_reference() -> None:
    text = (DOCS / "cli.md").read_text()
    missing = [
        name
        for name in leaf_commands(main)
        if f"alertgate {name}" not in text and f"{name.split()[-1]} ID" not in text
    ]
    assert missing == []


def test_every_api_route_is_in_the_api_reference() -> None:
    text = (DOCS / "api.md").read_text()
    missing = []
    for r in api.ROUTES:
        path = re.sub(r"\{\w+_id\}", "{id}", r.openapi_path)
        if f"`{r.method} {path}" not in text:
            missing.append(f"{r.method} {path}")
    assert missing == []


def test_readme_links_the_server_docs() -> None:
    readme = (DOCS.parent / "README.md").read_text()
    for doc in ("getting-started.md", "cli.md", "api.md", "configuration.md"):
        assert f"(docs/{doc})" in readme
