"""``alertgate silences``: maintenance windows that hold notifications back."""

from __future__ import annotations

from datetime import datetime

import click

from alertgate.cli.context import CLI_ACTOR, admin_errors, open_db
from alertgate.cli.output import echo_json, echo_table
from alertgate.server import admin, notify_admin


def _when(value: str, option: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.UsageError(f"{option}: not an ISO 8601 time: {value!r}") from None


def _weekly(value: str) -> dict[str, object]:
    days, sep, span = value.partition("@")
    start, dash, end = span.partition("-")
    try:
        if not sep or not dash:
            raise ValueError
        return {"days": [int(d) for d in days.split(",")], "start": start, "end": end}
    except ValueError:
        raise click.UsageError(f"--weekly {value!r}: expected e.g. 5,6@22:00-06:00") from None


@click.group()
def silences() -> None:
    """Silences: incidents are recorded, their notifications suppressed."""


@silences.command("create")
@click.option("--service", required=True, help="Service name.")
@click.option(
    "--match",
    "matches",
    multiple=True,
    metavar="KEY=GLOB",
    help="title, fingerprint, severity, integration or attributes.NAME; repeatable.",
)
@click.option("--starts", help="ISO 8601 start (default: now).")
@click.option("--ends", required=True, help="ISO 8601 end (naive times are UTC).")
@click.option(
    "--weekly",
    metavar="DAYS@HH:MM-HH:MM",
    help="Only inside this weekly window (UTC), e.g. 5,6@22:00-06:00 (Monday = 0).",
)
@click.option("--comment", default="", help="Why.")
@click.option("--org", help="Organization (default: the 'default' organization).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def create(
    service: str,
    matches: tuple[str, ...],
    starts: str | None,
    ends: str,
    weekly: str | None,
    comment: str,
    org: str | None,
    as_json: bool,
) -> None:
    """Silence a service's matching incidents until --ends."""
    window = _weekly(weekly) if weekly else None
    matchers: dict[str, str] = {}
    for item in matches:
        key, sep, glob = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--match {item!r}: expected KEY=GLOB")
        matchers[key.strip()] = glob
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        organization = admin.ensure_organization(session, org)
        target = admin.find_service(session, service, organization.id)
        row = notify_admin.create_silence(
            session,
            organization.id,
            target,
            matchers,
            _when(ends, "--ends"),
            starts_at=_when(starts, "--starts") if starts else None,
            weekly=window,
            comment=comment,
            actor=CLI_ACTOR,
        )
        out = notify_admin.silence_out(row, target.name, row.created_at)
    if as_json:
        echo_json(out.model_dump(mode="json"))
    else:
        click.echo(f"Silence {out.id} on {service!r} until {out.ends_at.isoformat()}.")


@silences.command("list")
@click.option("--all", "include_expired", is_flag=True, help="Include expired silences.")
@click.option("--org", help="Only this organization.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(include_expired: bool, org: str | None, as_json: bool) -> None:
    """List silences, soonest to end first."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        org_id = admin.get_organization(session, org).id if org else None
        rows = [
            s.model_dump(mode="json")
            for s in notify_admin.list_silences(session, org_id, include_expired=include_expired)
        ]
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            row["matchers"] = " ".join(f"{k}={v}" for k, v in row["matchers"].items()) or "*"
        echo_table(rows, ["id", "service", "matchers", "active", "ends_at", "comment"])


@silences.command("expire")
@click.argument("silence_id", type=click.IntRange(1, admin.MAX_ID))
def expire(silence_id: int) -> None:
    """End silence ID now."""
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        notify_admin.expire_silence(
            session, notify_admin.get_silence(session, silence_id, None), None, actor=CLI_ACTOR
        )
    click.echo(f"Silence {silence_id} ended.")
