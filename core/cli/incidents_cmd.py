"""``alertgate incidents``: list (paged), show, acknowledge, resolve (one or many), note."""

from __future__ import annotations

from typing import Any

import click

from alertgate.cli.context import CLI_ACTOR, Db, admin_errors, open_db
from alertgate.cli.output import echo_json, echo_table
from alertgate.server import admin, console
from alertgate.server.schemas import AlertOut, IncidentDetail, IncidentOut

STATUSES = click.Choice(["triggered", "acknowledged", "resolved", "open"])


def incident_detail(db: Db, incident_id: int) -> IncidentDetail:
    with admin_errors(), db.sessions() as session:
        incident = admin.get_incident(session, incident_id)
        names = admin.service_names(session, {incident.service_id})
        base = IncidentOut.of(incident, names.get(incident.service_id, ""))
        alerts = [AlertOut.of(a) for a in admin.incident_alerts(session, incident_id)]
    return IncidentDetail(**base.model_dump(), alerts=alerts)


def echo_incident(detail: IncidentDetail) -> None:
    """An incident's header and its alert timeline, for humans."""
    click.echo(f"Incident {detail.id}: {detail.title}")
    click.echo(
        f"  service {detail.service!r}, status {detail.status}, severity {detail.severity}, "
        f"{detail.alert_count} alert(s)"
    )
    click.echo(f"  fingerprint {detail.fingerprint}")
    if detail.acknowledged_at:
        click.echo(f"  acknowledged {detail.acknowledged_at:%Y-%m-%d %H:%M:%S} by "
                   f"{detail.acknowledged_by}")  # fmt: skip
    if detail.resolved_at:
        click.echo(f"  resolved {detail.resolved_at:%Y-%m-%d %H:%M:%S} by {detail.resolved_by}")
    rows: list[dict[str, Any]] = [
        {
            "alert": a.id,
            "source_time": a.source_time,
            "action": a.action,
            "outcome": a.outcome,
            "severity": a.severity,
            "title": a.title,
        }
        for a in detail.alerts
    ]
    click.echo("")
    echo_table(rows, ["alert", "source_time", "action", "outcome", "severity", "title"])


@click.group()
def incidents() -> None:
    """Incidents: alerts grouped by (service, fingerprint)."""


@incidents.command("list")
@click.option("--service", "service_ref", help="Only this service (name or id).")
@click.option("--status", type=STATUSES, help="Only this status (open = not resolved).")
@click.option("--severity", help="Only this severity.")
@click.option("--search", "q", help="Only incidents whose title contains this text.")
@click.option("--sort", type=click.Choice(console.SORTS), default="newest", show_default=True,
              help="newest/oldest by last alert, or opened (newest opened first).")  # fmt: skip
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--cursor", help="Continue after a previous page (its 'next page' cursor).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(
    service_ref: str | None,
    status: str | None,
    severity: str | None,
    q: str | None,
    sort: console.IncidentSort,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List incidents, newest first. When more remain, the cursor of the next page is
    printed on stderr (`next page: --cursor C`)."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        service_id = admin.find_service(session, service_ref).id if service_ref else None
        page = console.list_incidents(
            session,
            None,
            console.IncidentFilter(service_id, status, severity, None, q),
            limit=limit,
            after=cursor,
            sort=sort,
        )
        names = admin.service_names(session, {r.service_id for r in page.items})
        data = [IncidentOut.of(r, names.get(r.service_id, "")) for r in page.items]
    if as_json:
        echo_json([d.model_dump(mode="json") for d in data])
    else:
        echo_table(
            [d.model_dump() for d in data],
            ["id", "service", "status", "severity", "alert_count", "last_alert_at", "title"],
        )
    if page.next_cursor:
        click.echo(f"next page: --cursor {page.next_cursor}", err=True)


@incidents.command("show")
@click.argument("incident_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def show(incident_id: int, as_json: bool) -> None:
    """Show an incident and its alerts."""
    detail = incident_detail(open_db(), incident_id)
    if as_json:
        echo_json(detail.model_dump(mode="json"))
    else:
        echo_incident(detail)


def _change(incident_ids: tuple[int, ...], verb: console.Verb) -> None:
    from alertgate.engine import IngestEngine
    from alertgate.notify.outbox import Outbox

    db = open_db()
    engine = IngestEngine(db.engine, db.plugins, outbox=Outbox())
    try:
        with admin_errors():
            results = console.change_incidents(
                engine, db.sessions, None, incident_ids, verb, CLI_ACTOR
            )
    finally:
        engine.close()  # delivers the lifecycle notifications before the process exits
    done = "acknowledged" if verb == "acknowledge" else "resolved"
    for r in results:
        if r.changed:
            click.echo(f"Incident {r.id} {done}.")
        else:
            click.echo(f"Incident {r.id} unchanged: it is {r.status}.")


@incidents.command("ack")
@click.argument("incident_ids", type=int, nargs=-1, required=True)
def ack(incident_ids: tuple[int, ...]) -> None:
    """Acknowledge incidents (all ids are checked before any changes)."""
    _change(incident_ids, "acknowledge")


@incidents.command("resolve")
@click.argument("incident_ids", type=int, nargs=-1, required=True)
def resolve(incident_ids: tuple[int, ...]) -> None:
    """Resolve incidents by hand (all ids are checked first). A resolved incident never
    reopens."""
    _change(incident_ids, "resolve")


@incidents.command("note")
@click.argument("incident_id", type=int)
@click.argument("text")
def note(incident_id: int, text: str) -> None:
    """Add a note to an incident's timeline."""
    from alertgate.server.audit import service_org

    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        incident = admin.get_incident(session, incident_id)
        added = console.add_note(session, incident, service_org(session, incident), CLI_ACTOR, text)
        note_id = added.id
    click.echo(f"Note {note_id} added to incident {incident_id}.")
