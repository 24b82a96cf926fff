"""Chain health: is the SNS side still delivering?

- a heartbeat (what ``alertgate aws template --heartbeat`` schedules hourly) is recorded in
  the integration state as ``last_heartbeat_at`` and makes no alert;
- ``last_delivery_at`` records the last verified delivery (written at most once a minute,
  so a busy integration does not rewrite its state on every message);
- an UnsubscribeConfirmation opens "SNS subscription removed" on the integration's
  service; a later confirmation resolves it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from alertgate.models import Action, Alert, Severity

HEARTBEAT_MESSAGE = '{"alertgate": "heartbeat", "version": 1}'
"""What the scheduled heartbeat publishes to the topic."""
LAST_DELIVERY = "last_delivery_at"
LAST_HEARTBEAT = "last_heartbeat_at"
DELIVERY_RESOLUTION = timedelta(minutes=1)
SUBSCRIPTION_KIND = "sns_subscription"


def is_heartbeat(message: str) -> bool:
    """Whether an SNS message is an alertgate heartbeat (a tiny JSON object)."""
    text = message.strip()
    if len(text) > 200 or not text.startswith("{"):
        return False
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("alertgate") == "heartbeat"


def delivery_state(state: Mapping[str, Any], now: datetime, heartbeat: bool) -> dict[str, Any]:
    """State updates recording a verified delivery (and a heartbeat)."""
    updates: dict[str, Any] = {}
    if heartbeat:
        updates[LAST_HEARTBEAT] = now.isoformat()
    last = state.get(LAST_DELIVERY)
    try:
        stale = not isinstance(last, str) or now - datetime.fromisoformat(last) >= (
            DELIVERY_RESOLUTION
        )
    except (ValueError, TypeError):
        stale = True
    if stale or heartbeat:
        updates[LAST_DELIVERY] = now.isoformat()
    return updates


def subscription_alert(topic_arn: str, now: datetime, *, removed: bool) -> Alert:
    """Opens (removed) or resolves (confirmed again) the "subscription removed" incident."""
    title = "SNS subscription removed" if removed else "SNS subscription confirmed again"
    return Alert(
        title=title,
        source_time=now,
        kind=SUBSCRIPTION_KIND,
        severity=Severity.ERROR,
        summary=f"The subscription of this integration to {topic_arn} was deleted: nothing "
        "published to the topic reaches alertgate until it is subscribed again "
        "(`alertgate aws deploy`)."
        if removed
        else f"The subscription to {topic_arn} is confirmed again.",
        attributes={"topic_arn": topic_arn},
        fingerprint=f"sns:subscription:{topic_arn}",
        action=Action.TRIGGER if removed else Action.RESOLVE,
    )
