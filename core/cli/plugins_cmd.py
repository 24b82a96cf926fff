"""``alertgate plugins``: the installed integration types and the plugins behind them."""

from __future__ import annotations

from typing import Any

import click

from alertgate.cli.output import echo_json, echo_table
from alertgate.errors import PluginError
from alertgate.registry import Plugins, load_plugins


def plugin_rows(plugins: Plugins | None = None) -> list[dict[str, Any]]:
    """One row per integration type, plus one per plugin that declares no type."""
    if plugins is None:
        try:
            plugins = load_plugins()
        except PluginError as exc:
            raise click.ClickException(str(exc)) from exc
    rows: list[dict[str, Any]] = []
    claimed = set()
    for slug, reg in plugins.types.items():
        claimed.add(reg.plugin.name)
        rows.append(
            {
                "slug": slug,
                "title": reg.type.title,
                "description": reg.type.description,
                "docs_url": reg.type.docs_url,
                "plugin": reg.plugin.name,
                "distribution": reg.plugin.distribution,
                "version": reg.plugin.version,
                "builtin": reg.plugin.builtin,
                "hooks": plugins.hooks_of(reg.plugin.name),
            }
        )
    for name, info in sorted(plugins.infos.items()):
        if name not in claimed:
            rows.append(
                {
                    "slug": None,
                    "title": None,
                    "description": None,
                    "docs_url": None,
                    "plugin": name,
                    "distribution": info.distribution,
                    "version": info.version,
                    "builtin": info.builtin,
                    "hooks": plugins.hooks_of(name),
                }
            )
    return rows


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List installed integration types: slug, title, distribution, version, built-in."""
    rows = plugin_rows()
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["slug", "title", "plugin", "distribution", "version", "builtin"])
