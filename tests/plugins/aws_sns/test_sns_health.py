"""Chain health: heartbeats, the throttled last delivery time, subscription removed/restored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alertgate.models import Action
from alertgate.plugins.aws_sns.health import (
    HEARTBEAT_MESSAGE,
    delivery_state,
    is_heartbeat,
    subscription_alert,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_heartbeat_is_recognised_and_nothing_else_is() -> None:
    assert is_heartbeat(HEARTBEAT_MESSAGE)
    assert is_heartbeat(' {"alertgate":"heartbeat"} ')
    assert not is_heartbeat('{"alertgate": "other"}')
    assert not is_heartbeat('{"AlarmName": "x"}')
    assert not is_heartbeat("{" + " " * 300 + '"alertgate": "heartbeat"}')
    assert not is_heartbeat("not json {")


def test_last_delivery_is_written_at_most_once_a_minute() -> None:
    first = delivery_state({}, NOW, heartbeat=False)
    assert first == {"last_delivery_at": NOW.isoformat()}
    soon = NOW + timedelta(seconds=30)
    assert delivery_state(first, soon, heartbeat=False) == {}
    later = NOW + timedelta(minutes=2)
    assert delivery_state(first, later, heartbeat=False) == {"last_delivery_at": later.isoformat()}
    beat = delivery_state(first, soon, heartbeat=True)
    assert beat == {"last_delivery_at": soon.isoformat(), "last_heartbeat_at": soon.isoformat()}
    assert delivery_state({"last_delivery_at": "garbage"}, NOW, heartbeat=False)


def test_removed_opens_and_confirmed_again_resolves_the_same_incident() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:t"
    removed = subscription_alert(topic, NOW, removed=True)
    restored = subscription_alert(topic, NOW, removed=False)
    assert removed.title == "SNS subscription removed" and removed.action is Action.TRIGGER
    assert restored.action is Action.RESOLVE
    assert removed.fingerprint == restored.fingerprint
