"""Which SNS topics an integration accepts: an explicit allow-list and/or a pinned topic."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from alertgate.errors import ForbiddenDelivery, MalformedDelivery

_TOPIC_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:sns:[a-z0-9-]{1,32}:\d{12}:[\w.-]{1,256}"
)


def check_topic_arn_syntax(topic_arn: str) -> None:
    """:raises MalformedDelivery: ``invalid_envelope`` when ``TopicArn`` is not an SNS ARN."""
    if _TOPIC_ARN.fullmatch(topic_arn) is None:
        raise MalformedDelivery("invalid_envelope", "TopicArn is not an SNS topic ARN")


def pinned_topic(state: Mapping[str, Any]) -> str | None:
    """The topic pinned by an earlier confirmation, from the integration's ``sns`` state."""
    sns = state.get("sns")
    if isinstance(sns, Mapping):
        pinned = sns.get("pinned_topic_arn")
        if isinstance(pinned, str) and pinned:
            return pinned
    return None


def check_topic(
    topic_arn: str, allowed: list[str], pin_first: bool, state: Mapping[str, Any]
) -> None:
    """Accept ``topic_arn`` only if it is allowed and, when pinning, is the pinned topic.

    :raises ForbiddenDelivery: ``topic_not_allowed``.
    """
    if allowed and topic_arn not in allowed:
        raise ForbiddenDelivery(
            "topic_not_allowed", f"topic {topic_arn} is not allowed for this integration"
        )
    if pin_first:
        pinned = pinned_topic(state)
        if pinned is not None and pinned != topic_arn:
            raise ForbiddenDelivery(
                "topic_not_allowed",
                f"this integration is pinned to topic {pinned}, not {topic_arn}",
            )
