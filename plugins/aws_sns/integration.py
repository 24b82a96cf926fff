"""Built-in integration ``aws_sns``: any Amazon SNS topic, one alert per message.

For topics whose messages are not CloudWatch alarms or CloudTrail events (SES bounces,
AWS Health, application topics...). Each verified Notification becomes one alert titled by
its Subject (or the first line of its Message); alerts group by topic and subject. There
is no resolve signal in a generic message, so the per-integration ``action`` decides what
every message does: ``trigger`` (default) or ``info``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from alertgate.models import Action, Alert, ParseResult, Severity
from alertgate.plugins.aws_sns.hooks import SnsFedType
from alertgate.plugins.aws_sns.models import SnsNotification, SnsSettings

SLUG = "aws_sns"
KIND = "sns_message"
MAX_TITLE_CHARS = 200


class SnsMessageSettings(SnsSettings):
    """Per-integration options of a generic Amazon SNS integration."""

    action: Literal["trigger", "info"] = Field(
        "trigger",
        title="What each message does",
        description="trigger (the default) opens or joins an incident; info records the message "
        "and changes nothing.",
    )
    severity: Severity = Field(
        Severity.WARNING,
        title="Severity of the alerts",
        description="The severity of the alerts messages make.",
    )


def message_title(notification: SnsNotification) -> str:
    """Subject, else the first non-empty line of the message, bounded."""
    title = notification.subject or next(
        (line.strip() for line in notification.message.splitlines() if line.strip()), ""
    )
    title = title or "SNS message"
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1] + "…"


def message_alert(notification: SnsNotification, settings: SnsMessageSettings) -> Alert:
    return Alert(
        title=message_title(notification),
        source_time=notification.timestamp,
        dedupe_key=notification.message_id,
        kind=KIND,
        severity=settings.severity,
        summary=notification.message[:1000],
        attributes={
            "topic_arn": notification.topic_arn,
            "subject": notification.subject,
            "message_id": notification.message_id,
            "delivery": notification.kind,
        },
        payload=notification.envelope
        if notification.envelope is not None
        else notification.message,
    )


def _message_result(received: SnsNotification, settings: SnsMessageSettings) -> ParseResult:
    alert = message_alert(received, settings)
    return ParseResult(alerts=[alert], note=f"SNS message {alert.title!r}")


def message_fingerprint(alert: Alert, settings: object = None) -> str | None:
    if alert.kind != KIND:
        return None
    return f"{alert.attributes.get('topic_arn') or '-'}|{alert.title}"


def message_action(alert: Alert, settings: BaseModel) -> Action | None:
    if alert.kind != KIND:
        return None
    action = getattr(settings, "action", "trigger")
    return Action.INFO if action == "info" else Action.TRIGGER


SNS_MESSAGE = SnsFedType(
    slug=SLUG,
    title="Amazon SNS",
    description="Any Amazon SNS topic via an HTTPS subscription: every verified message "
    "becomes an alert, grouped by topic and subject.",
    docs_url="docs/sns.md",
    settings_model=SnsMessageSettings,
    build=_message_result,
    fingerprint=message_fingerprint,
    classify=message_action,
)
