"""``alertgate db``: schema migrations and retention."""

from __future__ import annotations

from datetime import timedelta

import click

from alertgate.server import setup_codes
from alertgate.settings import get_settings
from alertgate.storage.database import make_engine, make_sessionmaker
from alertgate.storage.migrate import head_revision, upgrade
from alertgate.storage.retention import apply_retention

_URL_HELP = "Database URL (default: ALERTGATE_DATABASE_URL or ./alertgate.db)."


def announce_setup_code(database_url: str, public_url: str) -> None:
    """On a database without API tokens, issue a one-time set-up code and print it (stderr).

    ``/setup`` refuses to create the first token without it, so only someone who can see
    this console (or run the CLI) can claim the server.
    """
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            code = setup_codes.issue(session)
    finally:
        engine.dispose()
    if code is None:
        return
    hours = int(setup_codes.CODE_TTL.total_seconds() // 3600)
    click.echo(
        f"No API token exists yet. To set alertgate up, open {public_url.rstrip('/')}/setup "
        f"and enter this one-time set-up code (valid {hours} h): {code}\n"
        "Or create a token on this machine: alertgate tokens create --name admin",
        err=True,
    )


@click.group("db")
def db() -> None:
    """Database schema and retention."""


@db.command("upgrade")
@click.option("--database-url", default=None, help=_URL_HELP)
def upgrade_cmd(database_url: str | None) -> None:
    """Apply pending schema migrations (serve does this at start too)."""
    url = database_url or get_settings().database_url
    try:
        revision = upgrade(url)
    except Exception as exc:
        raise click.ClickException(f"migration failed: {exc}") from exc
    state = "head" if revision == head_revision() else f"head is {head_revision()}"
    click.echo(f"database at revision {revision} ({state})")
    announce_setup_code(url, get_settings().public_url)


@db.command("prune")
@click.option(
    "--older-than",
    "days",
    type=click.FloatRange(min=0),
    default=None,
    help="Retention period in days (default: ALERTGATE_RETENTION_DAYS, 90).",
)
@click.option("--database-url", default=None, help=_URL_HELP)
def prune_cmd(days: float | None, database_url: str | None) -> None:
    """Apply retention now: delete alerts older than the period that no open incident
    needs, blank older payloads, reclaim space. Incidents and their counts stay."""
    settings = get_settings()
    if days is None:
        days = settings.retention_days
        if days == 0:
            raise click.UsageError(
                "ALERTGATE_RETENTION_DAYS is 0 (keep everything): pass --older-than DAYS"
            )
    engine = make_engine(database_url or settings.database_url)
    try:
        result = apply_retention(engine, timedelta(days=days))
    finally:
        engine.dispose()
    click.echo(
        f"deleted {result.deleted} alert(s) older than {days:g} day(s) (of resolved incidents, "
        f"or of none); pruned the payloads of {result.pruned} older alert(s) kept for open "
        "or recently resolved incidents"
    )
