"""``alertgate plugins``: the installed integration types and the plugins behind them."""

from __future__ import annotations

import click

from alertgate.cli.output import echo_json, echo_table
from alertgate.registry import load_plugins, plugin_rows


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any plugin failed to load.")
def plugins(as_json: bool, strict: bool) -> None:
    """List installed integration types: slug, title, distribution, version, built-in;
    and plugins that failed to load, with their error."""
    rows = plugin_rows(load_plugins())
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
