"""``alertgate services``: create, list, update and delete services."""

from __future__ import annotations

import click

from alertgate.cli.context import CLI_ACTOR, admin_errors, open_db, organization_rows
from alertgate.cli.output import echo_json, echo_table
from alertgate.server import admin, console
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


_REF = click.argument("ref", metavar="SERVICE")
_ORG = click.option("--org", help="Organization of the service, if the name is ambiguous.")


@services.command("update")
@_REF
@_ORG
@click.option("--name", help="New name.")
@click.option("--description", help='New description ("" clears it).')
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def update(
    ref: str, org: str | None, name: str | None, description: str | None, as_json: bool
) -> None:
    """Rename SERVICE (a name or id) or change its description."""
    if name is None and description is None:
        raise click.UsageError("give --name or --description")
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        org_id = admin.get_organization(session, org).id if org else None
        service = admin.find_service(session, ref, org_id)
        console.update_service(
            session, service.organization_id, CLI_ACTOR, service, name=name, description=description
        )
        out = ServiceOut.of(service)
    if as_json:
        echo_json(out.model_dump(mode="json"))
    else:
        click.echo(f"Service {out.id} {out.name!r} updated.")


@services.command("delete")
@_REF
@_ORG
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(ref: str, org: str | None, yes: bool) -> None:
    """Delete SERVICE (a name or id) with its integrations, incidents and alerts.

    Its Integration URLs stop working; notification rules and silences made for it alone
    go too. The audit log keeps what was done. Asks first unless --yes is given.
    """
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        org_id = admin.get_organization(session, org).id if org else None
        service = admin.find_service(session, ref, org_id)
        impact = admin.service_impact(session, service)
        click.echo(
            f"Deleting service {service.id} {service.name!r} deletes its "
            f"{impact.integrations} integration(s) (their URLs stop working), "
            f"{impact.incidents} incident(s) ({impact.open_incidents} open) and "
            f"{impact.alerts} alert(s)."
        )
        if not yes and not click.confirm("Delete it?", default=False):
            raise click.ClickException("not deleted")
        name = service.name
        console.delete_service(session, service.organization_id, CLI_ACTOR, service)
    click.echo(f"Service {name!r} deleted.")
