"""``alertgate aws``: the AWS side of an integration as a CloudFormation template
(``template``) or applied through the AWS APIs (``deploy``), both from one plan.

Registered by the ``aws_cloudtrail`` plugin through ``alertgate_register_commands``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from alertgate.cli.context import CLI_ACTOR, admin_errors, open_db
from alertgate.plugins.aws_cloudtrail.setup.cfn import template, to_yaml
from alertgate.plugins.aws_cloudtrail.setup.deploy import ClientFactory, deploy
from alertgate.plugins.aws_cloudtrail.setup.plan import Plan, PlanError, make_plan
from alertgate.server import admin, audit, keys

URL_ENV = "ALERTGATE_INTEGRATION_URL"
HEARTBEAT_HOURS = 3
"""What ``deploy --heartbeat`` sets ``heartbeat_hours`` to: two missed hourly heartbeats
(EventBridge schedules may run late, SNS retries) are tolerated, the third pages."""


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


def fill_settings(integration_id: int, wanted: dict[str, Any], *, apply: bool) -> list[str]:
    """Give the integration the settings in ``wanted`` that it has no value for yet (a
    value the operator chose is kept); what was (or, without ``apply``, would be) done.

    ``deploy`` records this way what alertgate needs to know about the AWS side it made:
    ``heartbeat_hours`` (the "No heartbeat for N hours" incident) and ``log_group_name``
    (the Logs Insights links of alarms)."""
    db = open_db()
    with admin_errors(), db.sessions.begin() as session:
        row = admin.get_integration(session, integration_id)
        settings = dict(row.settings or {})
        missing = {k: v for k, v in wanted.items() if v is not None and not settings.get(k)}
        if not missing:
            return []
        if apply:
            before, was = audit.before_update(row)
            admin.update_integration(session, db.plugins, row, settings={**settings, **missing})
            audit.record_integration_update(
                session, audit.service_org(session, row), CLI_ACTOR, row, before, was
            )
    return [
        f"set {key}={value!r} on integration {integration_id}" for key, value in missing.items()
    ]


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
    if heartbeat and fill_settings(
        integration_id, {"heartbeat_hours": HEARTBEAT_HOURS}, apply=False
    ):
        click.echo(
            f'note: once the stack is deployed, turn on the "No heartbeat for N hours" '
            f'incident: add "heartbeat_hours": {HEARTBEAT_HOURS} to the settings of '
            f"integration {integration_id} (alertgate integrations update {integration_id} "
            f"--settings '{{..., \"heartbeat_hours\": {HEARTBEAT_HOURS}}}')",
            err=True,
        )
    text = to_yaml(template(plan))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def _clients(region: str | None) -> ClientFactory:
    try:
        import boto3
    except ImportError:
        raise click.ClickException("deploy needs boto3: pip install 'alertgate[aws]'") from None
    session = boto3.session.Session(region_name=region)
    if session.region_name is None:
        raise click.ClickException("no AWS region: pass --region or set AWS_DEFAULT_REGION")
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(service)
        return cache[service]

    return client


def _integration_url(integration_id: int, url: str | None, rotate: bool, dry_run: bool) -> str:
    if url and rotate:
        raise click.UsageError("--integration-url and --rotate-key exclude each other")
    if url:
        return url
    if not rotate:
        raise click.UsageError(
            f"the Integration URL is needed (alertgate stores only a hash of its key): pass "
            f"--integration-url or set {URL_ENV}, or --rotate-key for a new one"
        )
    db = open_db()
    if dry_run:
        return keys.integration_url(db.settings.public_url, "agk_ROTATED-KEY")
    with admin_errors(), db.sessions.begin() as session:
        keyed = admin.rotate_key(session, admin.get_integration(session, integration_id))
    new_url = keys.integration_url(db.settings.public_url, keyed.key)
    click.echo(f"Rotated the key; the new Integration URL (shown once):\n{new_url}")
    return new_url


@aws.command("deploy")
@_integration
@click.option("--region", help="AWS region (default: boto3's, e.g. AWS_DEFAULT_REGION).")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
@click.option(
    "--integration-url",
    envvar=URL_ENV,
    help=f"The Integration URL to subscribe (or set {URL_ENV}).",
)
@click.option(
    "--rotate-key",
    is_flag=True,
    help="Give the integration a new key and subscribe its new URL (the old URL stops working).",
)
@click.option(
    "--log-group", help="The CloudWatch Logs log group the trail writes to (for the alarms)."
)
@_detections
@_eventbridge
@_heartbeat
@click.option(
    "--alarms", "alarm_names", help="Existing alarms (comma-separated names) to notify the topic."
)
@click.option("--alarm-prefix", help="Also every existing alarm whose name starts with this.")
def deploy_cmd(
    integration_id: int,
    region: str | None,
    dry_run: bool,
    integration_url: str | None,
    rotate_key: bool,
    log_group: str | None,
    detections: str | None,
    eventbridge: bool,
    heartbeat: bool,
    alarm_names: str | None,
    alarm_prefix: str | None,
) -> None:
    """Create or update the AWS side of an integration through the AWS APIs.

    The same plan as `aws template` (except the trail). Credentials come from boto3's
    default chain; AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> are honoured. Running it
    again changes nothing and says so.
    """
    plan = load_plan(integration_id, detections, eventbridge=eventbridge, heartbeat=heartbeat)
    clients = _clients(region)
    from botocore.exceptions import BotoCoreError, ClientError

    url = _integration_url(integration_id, integration_url, rotate_key, dry_run)
    try:
        result = deploy(
            plan,
            clients,
            integration_url=url,
            log_group=log_group,
            alarm_names=_split(alarm_names) or (),
            alarm_prefix=alarm_prefix,
            dry_run=dry_run,
        )
    except PlanError as exc:
        raise click.ClickException(str(exc)) from exc
    except (BotoCoreError, ClientError) as exc:
        raise click.ClickException(f"AWS: {exc}") from exc
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    # After the AWS side exists, so the first heartbeat is on its way when the heartbeat
    # check starts counting.
    wanted: dict[str, Any] = {"heartbeat_hours": HEARTBEAT_HOURS if heartbeat else None}
    if log_group and plan.alarms:
        wanted["log_group_name"] = log_group
    changes = [*result.changes, *fill_settings(integration_id, wanted, apply=not dry_run)]
    if not changes:
        click.echo(f"No changes: the AWS side of integration {integration_id} is up to date.")
        return
    verb = "Would" if dry_run else "Done:"
    for change in changes:
        click.echo(f"{verb} {change}")
    click.echo(f"Topic: {result.topic_arn}")
