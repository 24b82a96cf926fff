"""``alertgate incidents``: list, show, acknowledge, resolve."""

from __future__ import annotations

from typing import Any

import click

from alertgate.cli.context import CLI_ACTOR, Db, admin_errors, open_db
from alertgate.cli.output import echo_json, echo_table
from alertgate.server import admin
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
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(service_ref: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """List incidents, newest first."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        service_id = admin.find_service(session, service_ref).id if service_ref else None
        rows, _total = admin.list_incidents(
            session, service_id=service_id, status=status, limit=limit
        )
        names = admin.service_names(session, {r.service_id for r in rows})
        data = [IncidentOut.of(r, names.get(r.service_id, "")) for r in rows]
    if as_json:
        echo_json([d.model_dump(mode="json") for d in data])
        return
    echo_table(
        [d.model_dump() for d in data],
        ["id", "service", "status", "severity", "alert_count", "last_alert_at", "title"],
    )


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


def _change(incident_id: int, verb: str) -> None:
    from alertgate.engine import IngestEngine
    from alertgate.notify.outbox import Outbox

    db = open_db()
    with admin_errors(), db.sessions() as session:
        admin.get_incident(session, incident_id)
    # The outbox: acknowledging or resolving by hand notifies like the API does.
    engine = IngestEngine(db.engine, db.plugins, outbox=Outbox())
    try:
        with admin_errors():
            if verb == "acknowledged":
                change = admin.acknowledge_incident(engine, incident_id, CLI_ACTOR)
            else:
                change = admin.resolve_incident(engine, incident_id, CLI_ACTOR)
    finally:
        engine.close()  # delivers the lifecycle notifications before the process exits
    if change.changed:
        click.echo(f"Incident {incident_id} {verb}.")
    else:
        click.echo(f"Incident {incident_id} unchanged: it is {change.status}.")


@incidents.command("ack")
@click.argument("incident_id", type=int)
def ack(incident_id: int) -> None:
    """Acknowledge an incident."""
    _change(incident_id, "acknowledged")


@incidents.command("resolve")
@click.argument("incident_id", type=int)
def resolve(incident_id: int) -> None:
    """Resolve an incident by hand. A resolved incident never reopens."""
    _change(incident_id, "resolved")
