"""What the SNS layer records in an integration's ``state["sns"]``, told to people.

:func:`~alertgate.plugins.aws_sns.receive.receive` records the subscription's status, topic,
last change and error; the web UI and ``GET /api/v1/integrations/{id}`` show these items
(``alertgate_describe_state``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from alertgate.models import StateItem, StateStatus

STATE_KEY = "sns"

SUBSCRIPTION_STATUSES: dict[str, tuple[str, StateStatus]] = {
    "pending": ("Subscription pending", "pending"),
    "confirmed": ("Subscription confirmed", "ok"),
    "unsubscribed": ("Unsubscribed", "off"),
}


def describe_sns_state(state: Mapping[str, Any]) -> list[StateItem]:
    """The subscription's status badge, topic, last change and error, as far as recorded."""
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
