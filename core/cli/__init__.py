"""The ``alertgate`` command line.

Each command group lives in its own module and is attached here, so adding a command
touches one new module and one line below. Plugins add theirs through
``alertgate_register_commands`` (e.g. ``alertgate sns``, ``alertgate cloudtrail``): they
are loaded only when a command no built-in provides is asked for, or for ``--help``, so a
broken plugin never stops the built-in commands. Exit codes: 0 success, 1 failure, 2 usage.
"""

from __future__ import annotations

import click

from alertgate import __version__
from alertgate.cli import (
    audit_cmd,
    channels_cmd,
    db_cmd,
    demo_cmd,
    incidents_cmd,
    integrations_cmd,
    parse_cmd,
    plugin_cmd,
    plugins_cmd,
    rules_cmd,
    serve_cmd,
    services_cmd,
    silences_cmd,
    tokens_cmd,
)
from alertgate.errors import PluginError


class PluginCommandsGroup(click.Group):
    """The built-in commands, plus the plugins' once a lookup needs them."""

    _plugins_added = False

    def _add_plugin_commands(self) -> None:
        if self._plugins_added:
            return
        self._plugins_added = True
        from alertgate.registry import load_plugins

        try:
            errors = load_plugins().register_commands(self)
        except PluginError as exc:
            errors = [exc]
        for error in errors:
            click.echo(f"alertgate: plugin commands unavailable: {error}", err=True)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is None:
            self._add_plugin_commands()
            found = super().get_command(ctx, cmd_name)
        return found

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._add_plugin_commands()
        return super().list_commands(ctx)


@click.group(cls=PluginCommandsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="alertgate")
def main() -> None:
    """alertgate: alerts in at per-integration URLs, incidents out."""


main.add_command(plugins_cmd.plugins)
main.add_command(plugin_cmd.plugin)
main.add_command(parse_cmd.parse)
main.add_command(db_cmd.db)
main.add_command(serve_cmd.serve)
main.add_command(services_cmd.services)
main.add_command(integrations_cmd.integrations)
main.add_command(incidents_cmd.incidents)
main.add_command(tokens_cmd.tokens)
main.add_command(demo_cmd.demo)
main.add_command(channels_cmd.channels)
main.add_command(rules_cmd.rules)
main.add_command(silences_cmd.silences)
main.add_command(audit_cmd.audit_group)
