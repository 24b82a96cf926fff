"""An SNS message a type does not recognise, recorded as one ``info`` alert.

Every SNS-fed type may receive messages that are not its own (a test publish, another
service sharing the topic). They are kept for reference and change no incident; they
group per topic. One shape for all types, so the UI shows them alike.
"""

from __future__ import annotations

from typing import Any

from alertgate import jsonfast
from alertgate.models import Alert, Severity
from alertgate.plugins.aws_sns.models import SnsNotification

MAX_SUBJECT_CHARS = 200
MAX_EXCERPT_CHARS = 1000
MAX_RAW_PAYLOAD_CHARS = 65536
"""A message without its envelope (raw delivery) is kept up to this size when not JSON."""


def _subject(notification: SnsNotification) -> str | None:
    subject = (notification.subject or "").strip()
    return subject[:MAX_SUBJECT_CHARS] or None


def _payload(notification: SnsNotification) -> Any:
    """The envelope when there is one, else the message as JSON, else its bounded text."""
    if notification.envelope is not None:
        return notification.envelope
    text = notification.message.strip()
    if text.startswith("{"):
        try:
            return jsonfast.loads(text)
        except (ValueError, RecursionError):  # absurdly deep nesting is "not JSON" too
            pass
    return notification.message[:MAX_RAW_PAYLOAD_CHARS]


def recorded_message_alert(
    notification: SnsNotification, *, kind: str, what: str, note: str
) -> Alert:
    """An ``info`` alert for ``notification``, titled ``Not <what>: "<subject>"``.

    :param kind: The ``Alert.kind`` the type's fingerprint hook recognises.
    :param what: What the type expected, e.g. ``"an alarm"``.
    :param note: Why it was recorded, shown on the incident.
    """
    subject = _subject(notification)
    return Alert(
        title=f'Not {what}: "{subject}"' if subject else f"Not {what}: SNS message",
        source_time=notification.timestamp,
        dedupe_key=notification.message_id,
        kind=kind,
        severity=Severity.INFO,
        summary=f"Note: {note}\nMessage: {notification.message[:MAX_EXCERPT_CHARS]}",
        attributes={
            "note": note,
            "topic_arn": notification.topic_arn,
            "subject": subject,
            "message_id": notification.message_id,
            "delivery": notification.kind,
        },
        payload=_payload(notification),
    )


def topic_fingerprint(alert: Alert) -> str:
    """Grouping key of a recorded message: its topic."""
    return f"sns:{alert.attributes.get('topic_arn') or 'unknown-topic'}"
