"""Built-in integration ``aws_cloudtrail``: CloudTrail alarms and CloudTrail security events.

Two paths reach the same Integration URL, both through :func:`alertgate.plugins.aws_sns.receive`
(signed SNS deliveries, or opted-in unsigned direct posts):

1. CloudWatch alarms on metrics that CloudWatch Logs metric filters count over CloudTrail
   logs (the setup guide's path). Parsed by :mod:`alertgate.plugins.aws_cloudwatch.alarms`, then
   enriched by :mod:`alertgate.plugins.aws_cloudtrail.metrics`: ALARM opens, OK resolves.
2. CloudTrail events (EventBridge events "... via CloudTrail", or raw CloudTrail records),
   judged by the detection catalog in :mod:`alertgate.plugins.aws_cloudtrail.catalog`: a match opens
   or joins the incident of (detection, account, principal); anything else is ``info``.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel

from alertgate import hookimpl, jsonfast
from alertgate.errors import MalformedDelivery
from alertgate.models import Action, Alert, DemoStory, ParseResult, SampleDelivery
from alertgate.plugins.aws_cloudtrail import events, metrics
from alertgate.plugins.aws_cloudtrail.cli import cloudtrail
from alertgate.plugins.aws_cloudtrail.demo import demo_story, test_delivery
from alertgate.plugins.aws_cloudtrail.settings import CloudTrailSettings
from alertgate.plugins.aws_cloudtrail.setup.cli import aws
from alertgate.plugins.aws_cloudwatch.alarms import (
    alarm_action,
    alarm_fingerprint,
    build_alarm_alert,
    is_alarm_event,
    is_alarm_message,
    non_alarm_alert,
)
from alertgate.plugins.aws_sns import SnsFedType, SnsNotification

SLUG = "aws_cloudtrail"

__all__ = ["SLUG", "CloudTrailSettings"]


MAX_DEPTH = 64
"""CloudTrail records nest about ten levels; anything far deeper is refused, not parsed."""


def _too_deep(doc: Any, limit: int = MAX_DEPTH) -> bool:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            if level > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children)
    return False


def decode(message: str) -> Any:
    """The message as JSON (object or array), or ``None`` when it is not JSON.

    :raises MalformedDelivery: JSON nested deeper than :data:`MAX_DEPTH`.
    """
    text = message.strip()
    if not text or text[0] not in "{[":
        return None
    try:
        doc = jsonfast.loads(text)
    except RecursionError:
        raise MalformedDelivery("too_deep", "JSON nested too deeply") from None
    except ValueError:
        return None
    if _too_deep(doc):
        raise MalformedDelivery("too_deep", f"JSON nested deeper than {MAX_DEPTH} levels")
    return doc


def _payload(notification: SnsNotification, doc: Any) -> Any:
    """What alerts keep: the SNS envelope, or the posted document; credentials redacted."""
    if notification.envelope is None:
        return events.redact(doc)
    if not events.has_secrets(notification.message):
        return notification.envelope
    return {
        **notification.envelope,
        "Message": json.dumps(events.redact(doc), separators=(",", ":")),
        "alertgate_redacted": True,
    }


def alerts_for(notification: SnsNotification, settings: CloudTrailSettings) -> ParseResult:
    """Turn one unwrapped message into alerts (both paths); no network, no database."""
    doc = decode(notification.message)
    if is_alarm_message(doc) or is_alarm_event(doc):
        alarm = build_alarm_alert(
            doc,
            settings=settings,
            dedupe_key=notification.message_id,
            payload=notification.envelope if notification.envelope is not None else doc,
            topic_arn=notification.topic_arn,
            fallback_time=notification.timestamp,
        )
        if alarm is not None:
            alarm.attributes["delivery"] = notification.kind
            metrics.enrich(alarm, settings)
            attrs = alarm.attributes
            watches = f" ({attrs['watches']})" if attrs.get("watches") else ""
            return ParseResult(
                alerts=[alarm], note=f"alarm {attrs['alarm_name']!r} {attrs['state']}{watches}"
            )
    found = events.document_alerts(
        doc,
        settings,
        message_id=notification.message_id,
        payload=_payload(notification, doc),
        fallback_time=notification.timestamp,
    )
    if found is not None:
        for alert in found:
            alert.attributes["delivery"] = notification.kind
        matched = sum(1 for alert in found if alert.attributes.get("detection"))
        return ParseResult(
            alerts=found, note=f"CloudTrail: {matched} detection(s) in {len(found)} alert(s)"
        )
    if isinstance(doc, list):
        raise MalformedDelivery("invalid_document", "a JSON array that is not CloudTrail records")
    note = (
        "This message is neither a CloudWatch alarm nor a CloudTrail event; it was recorded "
        "for reference and changes no incident."
    )
    return ParseResult(
        alerts=[non_alarm_alert(notification, note)], note="not CloudTrail: recorded as info"
    )


def event_fingerprint(alert: Alert) -> str | None:
    """Grouping key of a CloudTrail event alert: detection + account + principal.

    Assumed-role sessions group by their role (``principal_key``), so a new session of the
    same role joins the open incident. Unmatched (info) events key on account + event.
    """
    if alert.kind != events.KIND:
        return None
    attrs = alert.attributes
    account = attrs.get("account") or "unknown-account"
    detection = attrs.get("detection")
    if detection:
        principal = attrs.get("principal_key") or attrs.get("principal") or "unknown"
        return f"{SLUG}:{detection}:{account}:{principal}"
    return f"{SLUG}:event:{account}:{attrs.get('event_source')}:{attrs.get('event_name')}"


def cloudtrail_fingerprint(alert: Alert, settings: object = None) -> str | None:
    return event_fingerprint(alert) or alarm_fingerprint(alert)


def cloudtrail_action(alert: Alert, settings: BaseModel) -> Action | None:
    if alert.kind == events.KIND:
        # Events are points in time: they never resolve; only a detection triggers.
        return Action.TRIGGER if alert.attributes.get("detection") else Action.INFO
    return alarm_action(alert, settings)


CLOUDTRAIL = SnsFedType(
    slug=SLUG,
    title="AWS CloudTrail",
    description="CloudWatch alarms on CloudTrail metric filters and CloudTrail security "
    "events from EventBridge, via Amazon SNS.",
    docs_url="docs/integrations/aws-cloudtrail.md",
    settings_model=CloudTrailSettings,
    build=alerts_for,
    fingerprint=cloudtrail_fingerprint,
    classify=cloudtrail_action,
)

alertgate_integration_types = CLOUDTRAIL.integration_types
alertgate_parse_request = CLOUDTRAIL.parse_request
alertgate_fingerprint = CLOUDTRAIL.fingerprint
alertgate_classify = CLOUDTRAIL.classify
alertgate_describe_state = CLOUDTRAIL.describe_state
alertgate_integration_actions = CLOUDTRAIL.integration_actions
alertgate_run_integration_action = CLOUDTRAIL.run_integration_action
alertgate_periodic_check = CLOUDTRAIL.periodic_check


@hookimpl(trylast=True)
def alertgate_register_commands(cli: click.Group) -> None:
    cli.add_command(cloudtrail)
    cli.add_command(aws)


@hookimpl(trylast=True)
def alertgate_demo(workdir: Path, now: datetime) -> DemoStory:
    return demo_story(workdir, now)


ALARM_FED_TYPES = frozenset({SLUG, "aws_cloudwatch", "aws_sns"})
"""Types a CloudWatch alarm notification is a meaningful test alert for."""


@hookimpl(trylast=True)
def alertgate_test_delivery(
    integration_type: str,
    settings: BaseModel,
    state: dict[str, Any],
    workdir: Path,
    now: datetime,
) -> SampleDelivery | None:
    if integration_type not in ALARM_FED_TYPES:
        return None
    return test_delivery(settings, state, workdir, now)
