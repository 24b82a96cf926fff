"""Parsing of the SNS JSON envelope (HTTP delivery casing and Lambda casing).

SNS posts its envelope with ``Content-Type: text/plain``, so the content type is not a
signal; the body is. Lambda-style records spell ``SigningCertUrl``/``UnsubscribeUrl`` and
send ``"Subject": null`` for "no subject": both are normalized here, so signature checking
works on one canonical form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alertgate import jsonfast
from alertgate.errors import MalformedDelivery
from alertgate.plugins.aws_sns.errors import DeliveryTooLarge

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
MESSAGE_TYPES = frozenset({NOTIFICATION, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION})

MAX_BODY_BYTES = 1024 * 1024
"""SNS messages are at most 256 KiB; JSON escaping can at most double that, plus headers."""

# Lambda casing -> HTTP delivery casing.
_ALIASES = {
    "SigningCertUrl": "SigningCertURL",
    "SubscribeUrl": "SubscribeURL",
    "UnsubscribeUrl": "UnsubscribeURL",
}
_STRING_FIELDS = (
    "Type",
    "MessageId",
    "TopicArn",
    "Subject",
    "Message",
    "Timestamp",
    "SignatureVersion",
    "Signature",
    "SigningCertURL",
    "SubscribeURL",
    "UnsubscribeURL",
    "Token",
)
_REQUIRED = {
    NOTIFICATION: ("MessageId", "TopicArn", "Message", "Timestamp"),
    SUBSCRIPTION_CONFIRMATION: ("MessageId", "TopicArn", "Message", "Timestamp", "Token"),
    UNSUBSCRIBE_CONFIRMATION: ("MessageId", "TopicArn", "Message", "Timestamp", "Token"),
}
_SIGNATURE_FIELDS = ("SignatureVersion", "Signature", "SigningCertURL")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One SNS message, normalized to HTTP delivery casing."""

    type: str
    fields: Mapping[str, str]
    """Every string field present, canonical names; a null ``Subject`` is absent."""
    timestamp: datetime
    raw: dict[str, Any]
    """The document exactly as received (kept as the alert payload)."""

    @property
    def message_id(self) -> str:
        return self.fields["MessageId"]

    @property
    def topic_arn(self) -> str:
        return self.fields["TopicArn"]

    @property
    def message(self) -> str:
        return self.fields["Message"]

    @property
    def subject(self) -> str | None:
        return self.fields.get("Subject")


def load_json(body: bytes) -> Any:
    """Decode a delivery body as JSON, bounded in size.

    :raises DeliveryTooLarge: ``too_large``.
    :raises MalformedDelivery: ``invalid_json``.
    """
    if len(body) > MAX_BODY_BYTES:
        raise DeliveryTooLarge("too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    try:
        return jsonfast.loads(body)
    except (ValueError, RecursionError):
        raise MalformedDelivery("invalid_json", "body is not valid UTF-8 JSON") from None


def looks_like_envelope(doc: Any) -> bool:
    """Whether a decoded body is meant as an SNS envelope (a known ``Type`` plus a topic)."""
    if not isinstance(doc, dict):
        return False
    kind = doc.get("Type")
    return isinstance(kind, str) and kind in MESSAGE_TYPES and "TopicArn" in doc


def parse_timestamp(value: str) -> datetime:
    """Parse an SNS ``Timestamp`` (ISO 8601, UTC ``Z``); must carry a timezone.

    :raises MalformedDelivery: ``invalid_timestamp``.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedDelivery("invalid_timestamp", "Timestamp is not ISO 8601") from None
    if parsed.tzinfo is None:
        raise MalformedDelivery("invalid_timestamp", "Timestamp has no timezone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise MalformedDelivery("invalid_timestamp", "Timestamp is out of range") from None


def parse_envelope(doc: Any) -> Envelope:
    """Validate and normalize a decoded SNS envelope.

    :raises MalformedDelivery: ``not_sns`` (not an SNS message), ``invalid_envelope`` (a
        field missing, of the wrong type, or given twice in two casings),
        ``invalid_timestamp``.
    """
    if not isinstance(doc, dict):
        raise MalformedDelivery("not_sns", "body is not an SNS message (expected a JSON object)")
    kind = doc.get("Type")
    if not isinstance(kind, str) or kind not in MESSAGE_TYPES:
        raise MalformedDelivery(
            "not_sns",
            "body is not an SNS message (Type must be Notification, SubscriptionConfirmation "
            "or UnsubscribeConfirmation)",
        )
    fields: dict[str, str] = {}
    for key, value in doc.items():
        name = _ALIASES.get(key, key)
        if name not in _STRING_FIELDS:
            continue
        if value is None and name == "Subject":
            continue
        if not isinstance(value, str):
            raise MalformedDelivery("invalid_envelope", f"{key} must be a string")
        if name in fields and fields[name] != value:
            raise MalformedDelivery("invalid_envelope", f"{name} is given twice, differently")
        fields[name] = value
    missing = [name for name in _REQUIRED[kind] if name not in fields]
    if missing:
        raise MalformedDelivery(
            "invalid_envelope", f"{kind} lacks required field(s): {', '.join(missing)}"
        )
    if kind == SUBSCRIPTION_CONFIRMATION and "SubscribeURL" not in fields:
        raise MalformedDelivery("invalid_envelope", "SubscriptionConfirmation lacks SubscribeURL")
    attributes = doc.get("MessageAttributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise MalformedDelivery("invalid_envelope", "MessageAttributes must be an object")
    return Envelope(kind, fields, parse_timestamp(fields["Timestamp"]), doc)


def missing_signature_fields(envelope: Envelope) -> list[str]:
    """Names of the signature fields the envelope lacks (empty when all are there)."""
    return [name for name in _SIGNATURE_FIELDS if name not in envelope.fields]
