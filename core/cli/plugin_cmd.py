"""``alertgate plugin new``: start a third-party plugin package (see :mod:`alertgate.scaffold`)."""

from __future__ import annotations

from pathlib import Path

import click

from alertgate import scaffold


@click.group("plugin")
def plugin() -> None:
    """Write your own plugin."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the package (default: ./alertgate-NAME). Must be empty or missing.",
)
def new(name: str, directory: Path | None) -> None:
    """Scaffold a plugin package adding integration type NAME, with tests that pass."""
    try:
        scaffold.check_name(name)
    except scaffold.ScaffoldError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    target = directory or Path(f"alertgate-{name}")
    try:
        written = scaffold.write(name, target)
    except scaffold.ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {len(written)} files to {target}/")
    click.echo("next:")
    click.echo(f"  cd {target}")
    click.echo("  pip install -e '.[test]'")
    click.echo("  python -m pytest")
    click.echo(f"  alertgate plugins   # lists {name}")
