"""A message a type does not recognise is recorded alike by every SNS-fed type."""

from __future__ import annotations

from datetime import UTC, datetime

from alertgate.models import Severity
from alertgate.plugins.aws_cloudwatch.alarms import (
    NON_ALARM_KIND,
    alarm_fingerprint,
    non_alarm_alert,
)
from alertgate.plugins.aws_sns.eventbridge import other_fingerprint, other_message_alert
from alertgate.plugins.aws_sns.models import SnsNotification
from alertgate.plugins.aws_sns.recorded import MAX_RAW_PAYLOAD_CHARS, MAX_SUBJECT_CHARS

TOPIC = "arn:aws:sns:eu-west-1:123456789012:alerts"


def notification(
    message: str, subject: str | None = None, envelope: dict | None = None
) -> SnsNotification:
    return SnsNotification(
        message=message,
        message_id="m-1",
        topic_arn=TOPIC,
        subject=subject,
        timestamp=datetime(2026, 12, 4, tzinfo=UTC),
        envelope=envelope,
        kind="raw" if envelope is None else "sns",
    )


def test_both_types_record_the_same_shape_and_group_by_topic() -> None:
    note = "recorded"
    alarm = non_alarm_alert(notification("hello", "Hi"), note)
    other = other_message_alert(notification("hello", "Hi"), "a GuardDuty finding")
    assert alarm.title == 'Not an alarm: "Hi"'
    assert other.title == 'Not a GuardDuty finding: "Hi"'
    assert alarm.severity == other.severity == Severity.INFO
    assert alarm.kind == NON_ALARM_KIND
    assert set(alarm.attributes) == set(other.attributes)
    assert alarm_fingerprint(alarm) == other_fingerprint(other) == f"sns:{TOPIC}"


def test_payload_is_the_envelope_else_json_else_bounded_text() -> None:
    envelope = {"Type": "Notification", "Message": "x"}
    assert non_alarm_alert(notification("x", envelope=envelope)).payload == envelope
    assert non_alarm_alert(notification('{"a": [1]}')).payload == {"a": [1]}
    big = "y" * (MAX_RAW_PAYLOAD_CHARS + 10)
    assert non_alarm_alert(notification(big)).payload == big[:MAX_RAW_PAYLOAD_CHARS]
    assert non_alarm_alert(notification("{not json")).payload == "{not json"


def test_subject_is_bounded_and_blank_subject_is_none() -> None:
    long = non_alarm_alert(notification("m", "s" * 500))
    assert long.attributes["subject"] == "s" * MAX_SUBJECT_CHARS
    blank = other_message_alert(notification("m", "   "), "an event")
    assert blank.title == "Not an event: SNS message"
    assert blank.attributes["subject"] is None
