"""What the SNS layer records in an integration's ``state["sns"]``, told to people.

:func:`~alertgate.plugins.aws_sns.receive.receive` records the subscription's status, topic,
last change and error; the web UI and ``GET /api/v1/integrations/{id}`` show these items
(``alertgate_describe_state``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alertgate.models import StateItem, StateStatus
from alertgate.plugins.aws_sns.health import LAST_DELIVERY, LAST_HEARTBEAT, MISSING_SINCE

STATE_KEY = "sns"
PRIVATE_SUBSCRIBE_URL = "_subscribe_url"
"""Where a pending subscription's SubscribeURL is kept: it holds SNS's confirmation token,
so the ``_`` keeps it out of the API and the CLI (alertgate's rule for private state)."""

SUBSCRIPTION_STATUSES: dict[str, tuple[str, StateStatus]] = {
    "pending": ("Subscription pending", "pending"),
    "confirmed": ("Subscription confirmed", "ok"),
    "unsubscribed": ("Unsubscribed", "off"),
}


def describe_sns_state(state: Mapping[str, Any]) -> list[StateItem]:
    """The subscription's status badge, topic, last change and error, then the chain's
    health (last delivery, last heartbeat, a heartbeat gone missing), as far as recorded."""
    return [*_subscription_items(state), *_health_items(state)]


def _health_items(state: Mapping[str, Any]) -> list[StateItem]:
    items = [
        StateItem(label, str(state[key]))
        for key, label in (
            (LAST_DELIVERY, "Last delivery"),
            (LAST_HEARTBEAT, "Last heartbeat"),
        )
        if state.get(key)
    ]
    since = state.get(MISSING_SINCE)
    if since:
        items.append(StateItem("Heartbeat", f"missing since {since}", status="error"))
    return items


def _subscription_items(state: Mapping[str, Any]) -> list[StateItem]:
    sns = state.get(STATE_KEY)
    if not isinstance(sns, Mapping):
        return []
    items: list[StateItem] = []
    known = SUBSCRIPTION_STATUSES.get(str(sns.get("status")))
    if known is not None:
        items.append(StateItem("Subscription", known[0], status=known[1]))
    for key, label, code in (
        ("topic_arn", "SNS topic", True),
        ("updated_at", "Subscription updated", False),
    ):
        if sns.get(key):
            items.append(StateItem(label, str(sns[key]), code=code))
    if sns.get("error"):
        items.append(StateItem("Subscription error", str(sns["error"]), status="error"))
    return items


def sns_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The integration's recorded ``sns`` state (empty when none, or not a mapping)."""
    current = state.get(STATE_KEY)
    return dict(current) if isinstance(current, Mapping) else {}


def subscription_state(
    previous: Mapping[str, Any],
    now: datetime,
    *,
    status: str,
    topic_arn: str,
    error: str | None,
    subscription_arn: str | None = None,
    pin: bool = False,
    subscribe_url: str | None = None,
) -> dict[str, Any]:
    """The full new ``sns`` state (top-level keys are replaced, so carry the rest over).

    ``subscribe_url``: kept (privately) while the subscription is pending and its
    SubscribeURL was verified, so "Retry confirmation" can call it again
    (alertgate.plugins.aws_sns.actions).
    """
    pinned = previous.get("pinned_topic_arn") or (topic_arn if pin else None)
    return {
        STATE_KEY: {
            "status": status,
            "topic_arn": topic_arn,
            "subscription_arn": subscription_arn or previous.get("subscription_arn"),
            "updated_at": now.isoformat(),
            "error": error,
            "pinned_topic_arn": pinned,
            PRIVATE_SUBSCRIBE_URL: subscribe_url if status == "pending" else None,
        }
    }
