"""The verification pipeline for one parsed envelope, cheapest and network-free checks first.

Order matters: everything that can reject a message without a network call (signature
fields present, SignatureVersion, SigningCertURL and SubscribeURL allow-lists, freshness)
runs before the certificate is looked up, so hostile input never causes an outbound request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alertgate.errors import ForbiddenDelivery
from alertgate.plugins.aws_sns.certs import CertificateStore
from alertgate.plugins.aws_sns.envelope import (
    SUBSCRIPTION_CONFIRMATION,
    Envelope,
    missing_signature_fields,
)
from alertgate.plugins.aws_sns.signature import verify_signature
from alertgate.plugins.aws_sns.urls import SnsUrl, check_cert_url, check_subscribe_url

DEFAULT_MAX_AGE_SECONDS = 2 * 3600
"""SNS retries an HTTP delivery for at most one hour (its maximum delivery-policy span);
one more hour covers slow retries and clock skew."""
MAX_FUTURE_SKEW = timedelta(minutes=5)


def check_fresh(envelope: Envelope, now: datetime, max_age_seconds: int) -> None:
    """Reject replays: a ``Timestamp`` older than ``max_age_seconds`` (0: no limit).

    :raises ForbiddenDelivery: ``message_too_old`` or ``message_from_future``.
    """
    if max_age_seconds <= 0:
        return
    age = now - envelope.timestamp
    if age > timedelta(seconds=max_age_seconds):
        raise ForbiddenDelivery(
            "message_too_old",
            f"message Timestamp {envelope.timestamp.isoformat()} is older than {max_age_seconds} s",
        )
    if -age > MAX_FUTURE_SKEW:
        raise ForbiddenDelivery(
            "message_from_future",
            f"message Timestamp {envelope.timestamp.isoformat()} is in the future",
        )


def verify_envelope(
    envelope: Envelope,
    certs: CertificateStore,
    *,
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS,
    now: datetime | None = None,
) -> SnsUrl | None:
    """Verify an envelope's signature and origin.

    :param max_age_seconds: Freshness window; 0 disables it (offline checks).
    :return: The allow-listed SubscribeURL of a SubscriptionConfirmation, else ``None``.
    :raises ForbiddenDelivery: ``signature_missing``, ``signature_version_unsupported``,
        ``cert_url_not_allowed``, ``subscribe_url_not_allowed``, ``message_too_old``,
        ``message_from_future``, ``cert_unavailable``, ``cert_invalid``,
        ``signature_invalid``, ``cert_expired``.
    :raises alertgate.plugins.aws_sns.errors.UpstreamUnavailable: the certificate could not be
        fetched for a transient reason.
    """
    missing = missing_signature_fields(envelope)
    if missing:
        raise ForbiddenDelivery(
            "signature_missing", f"message is not signed (no {', '.join(missing)})"
        )
    if envelope.fields["SignatureVersion"] not in ("1", "2"):
        raise ForbiddenDelivery(
            "signature_version_unsupported", 'SignatureVersion must be "1" or "2"'
        )
    cert_url = check_cert_url(envelope.fields["SigningCertURL"])
    subscribe_url = None
    if envelope.type == SUBSCRIPTION_CONFIRMATION:
        subscribe_url = check_subscribe_url(envelope.fields["SubscribeURL"], envelope.topic_arn)
    check_fresh(envelope, now or datetime.now(UTC), max_age_seconds)
    verify_signature(envelope, certs.get(cert_url))
    return subscribe_url
