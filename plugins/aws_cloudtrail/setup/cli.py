"""``alertgate aws``: the AWS side of an integration as a CloudFormation template
(``template``) or applied through the AWS APIs (``deploy``), both from one plan.

Registered by the ``aws_cloudtrail`` plugin through ``alertgate_register_commands``."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError

from alertgate.cli.context import admin_errors, open_db
from alertgate.plugins.aws_cloudtrail.setup.cfn import template, to_yaml
from alertgate.plugins.aws_cloudtrail.setup.plan import Plan, PlanError, make_plan
from alertgate.server import admin


@click.group("aws")
def aws() -> None:
    """Set up the AWS side of an integration (SNS topic, alarms, rules, trail)."""


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def load_plan(
    integration_id: int,
    detections: str | None = None,
    *,
    with_trail: bool = False,
    eventbridge: bool = False,
    heartbeat: bool = False,
) -> Plan:
    """The plan for a stored integration (its type and settings from the database)."""
    db = open_db()
    with admin_errors(), db.sessions() as session:
        row = admin.get_integration(session, integration_id)
        slug, raw = row.type, dict(row.settings or {})
    try:
        settings = db.plugins.validate_settings(slug, raw)
        return make_plan(
            integration_id,
            slug,
            settings,
            detection_ids=_split(detections),
            with_trail=with_trail,
            eventbridge=eventbridge,
            heartbeat=heartbeat,
        )
    except (PlanError, ValidationError) as exc:
        raise click.ClickException(str(exc)) from exc


def _notes(plan: Plan) -> None:
    for note in plan.notes:
        click.echo(f"note: {note}", err=True)


_integration = click.option(
    "--integration", "integration_id", type=int, required=True, help="Integration id."
)
_detections = click.option(
    "--detections",
    help="Comma-separated detection ids (default: every detection enabled on the integration).",
)
_trail = click.option(
    "--with-trail",
    is_flag=True,
    help="Also create a multi-region trail with its S3 bucket, log group and role.",
)
_eventbridge = click.option(
    "--eventbridge",
    is_flag=True,
    help="Also create EventBridge rules: the catalog's CloudTrail events, or the findings "
    "of GuardDuty / Security Hub / Health integrations.",
)
_heartbeat = click.option(
    "--heartbeat", is_flag=True, help="Also publish an hourly heartbeat to the topic."
)


@aws.command("template")
@_integration
@_detections
@_trail
@_eventbridge
@_heartbeat
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the template to this file instead of standard output.",
)
def template_cmd(
    integration_id: int,
    detections: str | None,
    with_trail: bool,
    eventbridge: bool,
    heartbeat: bool,
    output: Path | None,
) -> None:
    """Print a CloudFormation template (YAML) for an integration's AWS side.

    The Integration URL is the NoEcho parameter IntegrationUrl: alertgate keeps only a hash
    of the key, so paste the URL printed at creation (or by `integrations rotate-key`).
    Nothing account-specific is written, so the template also works as a StackSet.
    """
    plan = load_plan(
        integration_id,
        detections,
        with_trail=with_trail,
        eventbridge=eventbridge,
        heartbeat=heartbeat,
    )
    _notes(plan)
    text = to_yaml(template(plan))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
