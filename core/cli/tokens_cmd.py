"""``alertgate tokens``: API tokens for the admin API."""

from __future__ import annotations

import click

from alertgate.cli.context import CLI_ACTOR, admin_errors, open_db, organization_rows
from alertgate.cli.output import echo_json, echo_table
from alertgate.server import admin, audit


@click.group()
def tokens() -> None:
    """API tokens: each belongs to one organization and sees only its data."""


@tokens.command("create")
@click.option("--org", help="Organization (default: the 'default' organization).")
@click.option("--name", default="", help="A label for the token.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def create(org: str | None, name: str, as_json: bool) -> None:
    """Create an API token. It is printed once: only its hash is stored."""
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        organization = admin.ensure_organization(session, org)
        new = admin.create_token(session, organization, name)
        detail = {"prefix": new.token.prefix, "name": new.token.name}
        audit.record(session, organization.id, CLI_ACTOR, "token.create", new.token.id, detail)
        data = {
            "id": new.token.id,
            "name": new.token.name,
            "organization": organization.name,
            "prefix": new.token.prefix,
            "token": new.secret,
        }
    if as_json:
        echo_json(data)
    else:
        click.echo(
            f"API token {data['id']} {data['name']!r} for organization {data['organization']!r}"
            " (shown once, store it now):"
        )
        click.echo(new.secret)


@tokens.command("list")
@click.option("--org", help="Only this organization.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(org: str | None, as_json: bool) -> None:
    """List API tokens (prefixes only; secrets are never stored)."""
    data = organization_rows(
        org,
        admin.list_tokens,
        lambda t, org_name: {
            "id": t.id,
            "name": t.name,
            "organization": org_name,
            "prefix": t.prefix,
            "created_at": admin.as_utc(t.created_at),
            "last_used_at": admin.as_utc(t.last_used_at),
            "revoked_at": admin.as_utc(t.revoked_at),
        },
    )
    if as_json:
        echo_json(data)
    else:
        echo_table(
            data,
            ["id", "name", "organization", "prefix", "created_at", "last_used_at", "revoked_at"],
        )


@tokens.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int) -> None:
    """Revoke an API token: it stops working at once."""
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        token = admin.revoke_token(session, token_id)
        detail = {"prefix": token.prefix}
        audit.record(session, token.organization_id, CLI_ACTOR, "token.revoke", token.id, detail)
    click.echo(f"API token {token_id} revoked.")
