"""``alertgate rules``: which incident events of a service go to which channel."""

from __future__ import annotations

import click
from sqlalchemy.orm import Session

from alertgate.cli.context import CLI_ACTOR, Db, admin_errors, open_db
from alertgate.cli.output import echo_json, echo_table
from alertgate.server import admin, notify_admin
from alertgate.server.notify_schemas import DEFAULT_EVENTS, EscalationIn
from alertgate.storage.schema import NotificationChannel, NotificationRule

DEFAULT_ESCALATE_AFTER = 30


@click.group()
def rules() -> None:
    """Routing rules: service events -> channels."""


@rules.command("create")
@click.option("--service", help="Service name; omit with --org-default.")
@click.option("--org-default", is_flag=True, help="The organization's default rule.")
@click.option("--channel", required=True, help="Channel name.")
@click.option(
    "--events",
    default=",".join(DEFAULT_EVENTS),
    show_default=True,
    help="Comma-separated: opened, acknowledged, resolved, renotified (the escalation's "
    "re-notifications, also to --channel; needs --escalate-to).",
)
@click.option(
    "--min-severity",
    type=click.Choice(["info", "warning", "error", "critical"]),
    default="info",
    show_default=True,
)
@click.option("--escalate-to", help="Channel re-notified while an incident stays triggered.")
@click.option("--escalate-after", type=click.IntRange(1, 10080), help="Minutes until the first.")
@click.option("--escalate-every", type=click.IntRange(1, 10080), help="Minutes between them.")
@click.option("--escalate-times", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--org", help="Organization (default: the 'default' organization).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def create(
    service: str | None,
    org_default: bool,
    channel: str,
    events: str,
    min_severity: str,
    escalate_to: str | None,
    escalate_after: int | None,
    escalate_every: int | None,
    escalate_times: int,
    org: str | None,
    as_json: bool,
) -> None:
    """Send a service's (or, with --org-default, every service's) incident events to a channel."""
    if (service is None) == (not org_default):
        raise click.UsageError("give exactly one of --service NAME and --org-default")
    chosen = [e.strip() for e in events.split(",") if e.strip()]
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        organization = admin.ensure_organization(session, org)
        target = admin.find_service(session, service, organization.id) if service else None
        row = notify_admin.find_channel(session, channel, organization.id)
        escalation = None
        if escalate_to is not None:
            timing = EscalationIn(
                channel_id=1,  # replaced by the channel found below
                after_minutes=escalate_after or DEFAULT_ESCALATE_AFTER,
                every_minutes=escalate_every or escalate_after or DEFAULT_ESCALATE_AFTER,
                times=escalate_times,
            )
            escalation = (notify_admin.find_channel(session, escalate_to, organization.id), timing)
        rule = notify_admin.create_rule(
            session, organization.id, target, row, chosen, min_severity, None, escalation,
            actor=CLI_ACTOR,
        )  # fmt: skip
        rule_id, org_id = rule.id, organization.id
    _show(db, org_id, rule_id, as_json, "")


def _show(db: Db, org_id: int | None, rule_id: int, as_json: bool, verb: str) -> None:
    with db.sessions() as session:
        out = next(r for r in notify_admin.list_rules(session, org_id) if r.id == rule_id)
    if as_json:
        echo_json(out.model_dump(mode="json"))
    else:
        click.echo(
            f"Rule {out.id}{verb}: {out.service or 'organization default'} "
            f"[{','.join(out.events)}] >= {out.min_severity} -> {out.channel}."
        )


@rules.command("update")
@click.argument("rule_id", type=click.IntRange(1, admin.MAX_ID))
@click.option("--channel", help="Channel name.")
@click.option(
    "--events",
    help="Comma-separated: opened, acknowledged, resolved, renotified (needs an escalation).",
)
@click.option("--min-severity", type=click.Choice(["info", "warning", "error", "critical"]))
@click.option("--escalate-to", help="Channel re-notified while an incident stays triggered.")
@click.option("--escalate-after", type=click.IntRange(1, 10080), help="Minutes until the first.")
@click.option("--escalate-every", type=click.IntRange(1, 10080), help="Minutes between them.")
@click.option("--escalate-times", type=click.IntRange(1, 100), help="At most this many.")
@click.option("--no-escalation", is_flag=True, help="Remove the rule's escalation.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def update(
    rule_id: int,
    channel: str | None,
    events: str | None,
    min_severity: str | None,
    escalate_to: str | None,
    escalate_after: int | None,
    escalate_every: int | None,
    escalate_times: int | None,
    no_escalation: bool,
    as_json: bool,
) -> None:
    """Change rule ID (see `rules list`); escalation options not given keep their value."""
    timing_given = (escalate_to, escalate_after, escalate_every, escalate_times) != (None,) * 4
    if no_escalation and timing_given:
        raise click.UsageError("--no-escalation cannot be combined with --escalate-* options")
    chosen = [e.strip() for e in events.split(",") if e.strip()] if events is not None else None
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        rule = notify_admin.get_rule(session, rule_id, None)
        org_id = rule.organization_id
        escalation = notify_admin.UNCHANGED
        if no_escalation:
            escalation = None
        elif timing_given:
            escalation = _escalation(session, rule, escalate_to, escalate_after,
                                     escalate_every, escalate_times)  # fmt: skip
        notify_admin.update_rule(
            session, rule, None,
            channel=notify_admin.find_channel(session, channel, org_id) if channel else None,
            events=chosen, min_severity=min_severity, escalation=escalation, actor=CLI_ACTOR,
        )  # fmt: skip
    _show(db, org_id, rule_id, as_json, " updated")


def _escalation(
    session: Session,
    rule: NotificationRule,
    to: str | None,
    after: int | None,
    every: int | None,
    times: int | None,
) -> tuple[NotificationChannel, EscalationIn]:
    """The rule's escalation with the given options changed (the others kept)."""
    org_id = rule.organization_id
    if to is not None:
        target = notify_admin.find_channel(session, to, org_id)
    elif rule.escalation_channel_id is not None:
        target = notify_admin.get_channel(session, rule.escalation_channel_id, org_id)
    else:
        raise click.UsageError("the rule has no escalation yet: give --escalate-to NAME")
    after = after or rule.escalate_after_minutes or DEFAULT_ESCALATE_AFTER
    timing = EscalationIn(
        channel_id=target.id,
        after_minutes=after,
        every_minutes=every or rule.escalate_every_minutes or after,
        times=times or rule.escalate_times or 1,
    )
    return target, timing


@rules.command("list")
@click.option("--org", help="Only this organization.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(org: str | None, as_json: bool) -> None:
    """List routing rules."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        org_id = admin.get_organization(session, org).id if org else None
        rows = [r.model_dump(mode="json") for r in notify_admin.list_rules(session, org_id)]
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            row["events"] = ",".join(row["events"])
        echo_table(rows, ["id", "service", "channel", "events", "min_severity"])


@rules.command("delete")
@click.argument("rule_id", type=click.IntRange(1, admin.MAX_ID))
def delete(rule_id: int) -> None:
    """Delete rule ID (see `rules list`)."""
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        rule = notify_admin.get_rule(session, rule_id, None)
        notify_admin.delete_rule(session, rule, None, actor=CLI_ACTOR)
    click.echo(f"Rule {rule_id} deleted.")
