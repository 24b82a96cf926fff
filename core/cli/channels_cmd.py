"""``alertgate channels``: notification channels (types are plugins: webhook, slack, ...)."""

from __future__ import annotations

import json
from typing import Any

import click

from alertgate.cli.context import CLI_ACTOR, admin_errors, open_db
from alertgate.cli.output import echo_json, echo_table
from alertgate.notify.dispatcher import Dispatcher
from alertgate.server import admin, notify_admin
from alertgate.server.notify_api import send_test


@click.group()
def channels() -> None:
    """Where notifications go."""


def _settings_json(raw: str) -> dict[str, Any]:
    try:
        settings = json.loads(raw)
    except ValueError as exc:
        raise click.UsageError(f"--settings is not JSON: {exc}") from None
    if not isinstance(settings, dict):
        raise click.UsageError("--settings must be a JSON object")
    return settings


@channels.command("create")
@click.option(
    "--type", "type_slug", required=True, help="Channel type slug (see `channels types`)."
)
@click.option("--name", required=True, help="Channel name, unique in the organization.")
@click.option("--settings", "raw", default="{}", help="Settings as a JSON object.")
@click.option(
    "--rate-limit",
    type=click.IntRange(0, 10_000),
    default=20,
    show_default=True,
    help="Messages per minute; beyond it notifications are folded into a digest (0: none).",
)
@click.option("--org", help="Organization (default: the 'default' organization).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def create(
    type_slug: str, name: str, raw: str, rate_limit: int, org: str | None, as_json: bool
) -> None:
    """Create a channel. Secret settings are stored encrypted with ALERTGATE_SECRET_KEY."""
    settings = _settings_json(raw)
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        organization = admin.ensure_organization(session, org)
        row = notify_admin.create_channel(
            session, db.plugins, db.settings.secret_key, organization, type_slug, name,
            settings, rate_limit_per_minute=rate_limit, actor=CLI_ACTOR,
        )  # fmt: skip
        out = notify_admin.channel_out(db.plugins, row)
    if as_json:
        echo_json(out.model_dump(mode="json"))
    else:
        click.echo(f"Channel {out.id} {out.name!r} ({out.type}) created.")


@channels.command("update")
@click.argument("name")
@click.option("--name", "new_name", help="A new name, unique in the organization.")
@click.option(
    "--settings",
    "raw",
    help="Settings to change, as a JSON object: merged into the stored ones; omitted fields "
    "(secrets too) keep their value, null returns a field to its default.",
)
@click.option("--enable/--disable", "enabled", default=None, help="Send to it, or not.")
@click.option(
    "--rate-limit-per-minute",
    "--rate-limit",
    "rate_limit",
    type=click.IntRange(0, 10_000),
    help="Messages per minute; beyond it notifications are folded into a digest (0: none).",
)
@click.option("--org", help="Organization of the channel.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def update(
    name: str,
    new_name: str | None,
    raw: str | None,
    enabled: bool | None,
    rate_limit: int | None,
    org: str | None,
    as_json: bool,
) -> None:
    """Change channel NAME: rename it, rotate a secret, move its URL, enable or disable it."""
    settings = _settings_json(raw) if raw is not None else None
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        org_id = admin.get_organization(session, org).id if org else None
        row = notify_admin.find_channel(session, name, org_id)
        changed = notify_admin.update_channel(
            session, db.plugins, db.settings.secret_key, row, None, name=new_name,
            settings=settings, enabled=enabled, rate_limit_per_minute=rate_limit,
            actor=CLI_ACTOR,
        )  # fmt: skip
        out = notify_admin.channel_out(db.plugins, row)
    if as_json:
        echo_json(out.model_dump(mode="json"))
    elif changed:
        click.echo(f"Channel {out.id} {out.name!r} updated: {', '.join(changed)}.")
    else:
        click.echo(f"Channel {out.id} {out.name!r} unchanged.")


@channels.command("list")
@click.option("--org", help="Only this organization.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(org: str | None, as_json: bool) -> None:
    """List channels (secrets masked)."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        org_id = admin.get_organization(session, org).id if org else None
        rows = [
            notify_admin.channel_out(db.plugins, r).model_dump(mode="json")
            for r in notify_admin.list_channels(session, org_id)
        ]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["id", "name", "type", "enabled", "created_at"])


@channels.command("types")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def types(as_json: bool) -> None:
    """Installed channel types and their settings."""
    db = open_db()
    rows = [
        {
            "slug": t.slug,
            "title": t.title,
            "description": t.description,
            "secret_fields": sorted(t.secret_fields),
            "settings_schema": t.settings_model.model_json_schema(),
        }
        for t in db.plugins.channel_types.values()
    ]
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["slug", "title", "description"])


@channels.command("test")
@click.argument("name")
@click.option("--org", help="Organization of the channel.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def test(name: str, org: str | None, as_json: bool) -> None:
    """Send a test notification through channel NAME now (exit 1 if it fails)."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        org_id = admin.get_organization(session, org).id if org else None
        row = notify_admin.find_channel(session, name, org_id)
        session.expunge(row)
    dispatcher = Dispatcher(db.engine, db.plugins, db.settings)
    try:
        result = send_test(dispatcher, row, db.sessions, CLI_ACTOR)
    finally:
        dispatcher.stop()
    if as_json:
        echo_json(result.model_dump(mode="json"))
    elif result.ok:
        click.echo(f"Test notification sent through {name!r} ({result.idempotency_key}).")
    if not result.ok:
        raise click.ClickException(f"test notification through {name!r} failed: {result.error}")


@channels.command("delete")
@click.argument("name")
@click.option("--org", help="Organization of the channel.")
def delete(name: str, org: str | None) -> None:
    """Delete channel NAME and the rules that send to it."""
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        org_id = admin.get_organization(session, org).id if org else None
        row = notify_admin.find_channel(session, name, org_id)
        notify_admin.delete_channel(session, row, None, actor=CLI_ACTOR)
    click.echo(f"Channel {name!r} deleted, with its rules.")
