""" "Retry confirmation": confirm a pending SNS subscription again, by hand.

Offered while the recorded subscription is ``pending`` with a SubscribeURL that verified
when it arrived (automatic confirmation off, or its GET failed). The stored URL is checked
again by the same allow-list before the same one GET as automatic confirmation
(:func:`~alertgate.plugins.aws_sns.confirm.confirm_and_record`), so a value changed in
the database can never make alertgate call another host.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from alertgate.context import PluginContext
from alertgate.errors import ForbiddenDelivery
from alertgate.models import ActionResult, IntegrationAction
from alertgate.plugins.aws_sns.confirm import confirm_and_record
from alertgate.plugins.aws_sns.models import SnsSettings
from alertgate.plugins.aws_sns.runtime import runtime_in
from alertgate.plugins.aws_sns.state import PRIVATE_SUBSCRIBE_URL, sns_state
from alertgate.plugins.aws_sns.urls import check_subscribe_url

RETRY_CONFIRMATION = IntegrationAction(
    name="retry_confirmation",
    label="Retry confirmation",
    description="Confirm the pending SNS subscription now, with the confirmation URL SNS sent.",
)


def sns_actions(state: Mapping[str, Any]) -> list[IntegrationAction]:
    """What can be done about the recorded subscription now."""
    sns = sns_state(state)
    if sns.get("status") == "pending" and isinstance(sns.get(PRIVATE_SUBSCRIBE_URL), str):
        return [RETRY_CONFIRMATION]
    return []


def retry_confirmation(
    state: Mapping[str, Any],
    settings: SnsSettings,
    context: PluginContext,
    *,
    now: datetime | None = None,
) -> ActionResult:
    """GET the stored SubscribeURL again; the new ``sns`` state says how it went."""
    now = now or datetime.now(UTC)
    previous = sns_state(state)
    topic = str(previous.get("topic_arn") or "")
    try:
        url = check_subscribe_url(previous.get(PRIVATE_SUBSCRIBE_URL), topic)
    except ForbiddenDelivery as exc:
        return ActionResult(False, f"The stored confirmation URL is not usable: {exc.message}")
    runtime = runtime_in(context)
    outcome, new_state = confirm_and_record(
        url,
        topic,
        previous,
        client=runtime.client,
        endpoint_url=runtime.endpoint_url,
        pin=settings.pin_first_topic,
        now=now,
    )
    if not outcome.ok:
        return ActionResult(False, f"Not confirmed: {outcome.error}.", new_state)
    return ActionResult(True, f"Subscription to {topic} confirmed.", new_state)
