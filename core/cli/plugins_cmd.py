"""``alertgate plugins``: the installed integration types and the plugins behind them."""

from __future__ import annotations

import click

from alertgate.cli.output import echo_json, echo_table
from alertgate.errors import PluginError
from alertgate.registry import load_plugins, plugin_rows


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List installed integration types: slug, title, distribution, version, built-in."""
    try:
        rows = plugin_rows(load_plugins())
    except PluginError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["slug", "title", "plugin", "distribution", "version", "builtin"])
