"""The ``alertgate`` command line.

Each command group lives in its own module and is attached here, so adding a command
touches one new module and one line below. Exit codes: 0 success, 1 failure, 2 usage.
"""

from __future__ import annotations

import click

from alertgate import __version__
from alertgate.cli import (
    cloudtrail_cmd,
    db_cmd,
    demo_cmd,
    incidents_cmd,
    integrations_cmd,
    parse_cmd,
    plugin_cmd,
    plugins_cmd,
    serve_cmd,
    services_cmd,
    sns_cmd,
    tokens_cmd,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="alertgate")
def main() -> None:
    """alertgate: alerts in at per-integration URLs, incidents out."""


main.add_command(plugins_cmd.plugins)
main.add_command(plugin_cmd.plugin)
main.add_command(parse_cmd.parse)
main.add_command(db_cmd.db)
main.add_command(sns_cmd.sns)
main.add_command(cloudtrail_cmd.cloudtrail)
main.add_command(serve_cmd.serve)
main.add_command(services_cmd.services)
main.add_command(integrations_cmd.integrations)
main.add_command(incidents_cmd.incidents)
main.add_command(tokens_cmd.tokens)
main.add_command(demo_cmd.demo)
