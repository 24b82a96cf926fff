"""``alertgate services``: create and list services."""

from __future__ import annotations

import click

from alertgate.cli.context import admin_errors, open_db, organization_rows
from alertgate.cli.output import echo_json, echo_table
from alertgate.server import admin
from alertgate.server.schemas import ServiceOut


@click.group()
def services() -> None:
    """Services own integrations and incidents."""


@services.command("create")
@click.argument("name")
@click.option("--org", help="Organization (default: the 'default' organization).")
@click.option("--description", default="", help="Free text.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def create(name: str, org: str | None, description: str, as_json: bool) -> None:
    """Create a service NAME."""
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        organization = admin.ensure_organization(session, org)
        out = ServiceOut.of(admin.create_service(session, organization, name, description))
        org_name = organization.name
    if as_json:
        echo_json({**out.model_dump(mode="json"), "organization": org_name})
    else:
        click.echo(f"Service {out.id} {out.name!r} created in organization {org_name!r}.")


@services.command("list")
@click.option("--org", help="Only this organization.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(org: str | None, as_json: bool) -> None:
    """List services."""
    data = organization_rows(
        org,
        admin.list_services,
        lambda r, org_name: {**ServiceOut.of(r).model_dump(mode="json"), "organization": org_name},
    )
    if as_json:
        echo_json(data)
    else:
        echo_table(data, ["id", "name", "organization", "description", "created_at"])
