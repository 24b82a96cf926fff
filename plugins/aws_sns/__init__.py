"""Amazon SNS delivery, shared by every AWS integration: envelope, signature, confirmation.

The public interface other plugins use is :func:`receive` and :class:`SnsSettings`.

NOTE: this is the interface stub laid down with the foundation; the real verification,
certificate handling and subscription confirmation replace the body of :func:`receive`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from core.errors import MalformedDelivery
from core.models import InboundRequest, ParseContext, ParseResult


class SnsSettings(BaseModel):
    """Per-integration SNS options, inherited by the settings model of every AWS type."""

    verify_signatures: bool = Field(True, description="Verify every SNS signature.")
    allowed_topic_arns: list[str] = Field(
        default_factory=list, description="Accept only these TopicArns (empty: any)."
    )
    pin_first_topic: bool = Field(
        False, description="Accept only the first topic whose subscription confirms."
    )
    raw_message_delivery: bool = Field(
        False, description="The subscription uses raw message delivery (no SNS envelope)."
    )


@dataclass(frozen=True, slots=True)
class SnsNotification:
    """A verified SNS Notification, unwrapped."""

    message: str
    message_id: str | None
    topic_arn: str | None
    subject: str | None
    timestamp: datetime
    envelope: dict[str, Any] | None
    """The envelope as received; ``None`` for raw message delivery."""


def receive(
    request: InboundRequest, context: ParseContext, settings: SnsSettings
) -> SnsNotification | ParseResult:
    """Verify and unwrap one SNS delivery.

    :return: An :class:`SnsNotification` for a Notification (or a raw delivery), or a
        :class:`ParseResult` with no alerts for SubscriptionConfirmation and
        UnsubscribeConfirmation (already handled: confirmed, recorded).
    :raises core.errors.MalformedDelivery: Not an SNS message (HTTP 400).
    :raises core.errors.ForbiddenDelivery: Bad signature, disallowed topic... (HTTP 403).
    """
    try:
        doc = json.loads(request.body)
    except ValueError:
        raise MalformedDelivery("invalid_json", "body is not a JSON SNS message") from None
    if not isinstance(doc, dict) or doc.get("Type") != "Notification":
        return ParseResult(note="not a notification")
    return SnsNotification(
        message=str(doc.get("Message", "")),
        message_id=doc.get("MessageId"),
        topic_arn=doc.get("TopicArn"),
        subject=doc.get("Subject"),
        timestamp=datetime.fromisoformat(doc["Timestamp"])
        if "Timestamp" in doc
        else datetime.now(UTC),
        envelope=doc,
    )
