"""``alertgate audit``: the organizations' audit log (who changed what, when)."""

from __future__ import annotations

import click

from alertgate.cli.context import admin_errors, open_db
from alertgate.cli.output import echo_json, echo_table
from alertgate.server import admin, audit
from alertgate.server.console_schemas import AuditOut


@click.group("audit")
def audit_group() -> None:
    """The audit log: integrations, settings, keys, tokens and incidents changed by whom."""


@audit_group.command("list")
@click.option("--org", help="Only this organization (default: all).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--cursor", help="Continue after a previous page (its 'next page' cursor).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(org: str | None, limit: int, cursor: str | None, as_json: bool) -> None:
    """List audit events, newest first (the next page's cursor is printed on stderr)."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        org_id = admin.get_organization(session, org).id if org else None
        rows, next_cursor = audit.list_events(session, org_id, limit=limit, after=cursor)
        data = [AuditOut.of(r) for r in rows]
    if as_json:
        echo_json([d.model_dump(mode="json") for d in data])
    else:
        echo_table(
            [d.model_dump() for d in data], ["id", "at", "actor", "action", "object_id", "detail"]
        )
    if next_cursor:
        click.echo(f"next page: --cursor {next_cursor}", err=True)
