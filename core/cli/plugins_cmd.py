"""``alertgate plugins``: the installed integration types and the plugins behind them."""

from __future__ import annotations

from typing import Any

import click

from alertgate.cli.output import echo_json, echo_table
from alertgate.registry import BUILTIN_DISTRIBUTION, Plugins, load_plugins


def plugin_rows(plugins: Plugins | None = None) -> list[dict[str, Any]]:
    """One row per integration type, one per plugin that declares no type, and one per
    broken plugin (``status`` ``broken``, with its ``error``)."""
    if plugins is None:
        plugins = load_plugins()
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
                "status": "ok",
                "error": None,
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
                    "status": "ok",
                    "error": None,
                }
            )
    for broken in plugins.broken:
        rows.append(
            {
                "slug": None,
                "title": None,
                "description": None,
                "docs_url": None,
                "plugin": broken.name,
                "distribution": broken.distribution,
                "version": broken.version,
                "builtin": broken.distribution == BUILTIN_DISTRIBUTION,
                "hooks": [],
                "status": "broken",
                "error": broken.error,
            }
        )
    return rows


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any plugin failed to load.")
def plugins(as_json: bool, strict: bool) -> None:
    """List installed integration types: slug, title, distribution, version, built-in;
    and plugins that failed to load, with their error."""
    rows = plugin_rows()
    if as_json:
        echo_json(rows)
    else:
        columns = ["slug", "title", "plugin", "distribution", "version", "builtin", "status"]
        echo_table(rows, columns)
        for row in rows:
            if row["error"]:
                click.echo(f"{row['plugin']}: {row['error']}", err=True)
    if strict and any(row["status"] == "broken" for row in rows):
        raise SystemExit(1)
