"""One SNS delivery from request to verified notification or handled handshake."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from alertgate import jsonfast
from alertgate.errors import ForbiddenDelivery, MalformedDelivery
from alertgate.models import HandshakeResponse, InboundRequest, ParseContext, ParseResult
from alertgate.plugins.aws_sns.confirm import confirm_and_record
from alertgate.plugins.aws_sns.envelope import (
    MAX_BODY_BYTES,
    NOTIFICATION,
    SUBSCRIPTION_CONFIRMATION,
    Envelope,
    looks_like_envelope,
    parse_envelope,
)
from alertgate.plugins.aws_sns.errors import DeliveryTooLarge
from alertgate.plugins.aws_sns.health import delivery_state, is_heartbeat, subscription_alert
from alertgate.plugins.aws_sns.models import SnsNotification, SnsSettings
from alertgate.plugins.aws_sns.runtime import SnsRuntime, runtime_of
from alertgate.plugins.aws_sns.state import sns_state, subscription_state
from alertgate.plugins.aws_sns.topics import check_topic, check_topic_arn_syntax
from alertgate.plugins.aws_sns.unsigned import check_shared_secret
from alertgate.plugins.aws_sns.urls import SnsUrl
from alertgate.plugins.aws_sns.verify import check_fresh, verify_envelope

log = logging.getLogger(__name__)

RAW_TYPE_HEADER = "x-amz-sns-message-type"


def receive(
    request: InboundRequest,
    context: ParseContext,
    settings: SnsSettings,
    *,
    runtime: SnsRuntime | None = None,
    now: datetime | None = None,
) -> SnsNotification | ParseResult:
    """Verify and unwrap one SNS delivery.

    :param runtime: Certificate store and HTTP client; default: the process's, from
        ``context.plugin_context`` (built from ``ALERTGATE_SNS_*`` and
        ``AWS_ENDPOINT_URL_SNS`` at startup).
    :param now: The current time (for the freshness check; injectable for tests).
    :return: An :class:`SnsNotification` for a Notification (or an opted-in raw delivery
        or direct post), or a :class:`ParseResult` with no alerts for
        SubscriptionConfirmation and UnsubscribeConfirmation (already handled: confirmed,
        recorded in ``state_updates["sns"]``).
    :raises alertgate.errors.MalformedDelivery: Not an SNS message (HTTP 400).
    :raises alertgate.errors.ForbiddenDelivery: Bad signature, disallowed topic... (HTTP 403).
    :raises alertgate.plugins.aws_sns.errors.DeliveryTooLarge: Body over 1 MiB (HTTP 413).
    :raises alertgate.plugins.aws_sns.errors.UpstreamUnavailable: Certificate fetch failed for a
        transient reason (HTTP 503, so SNS retries).
    """
    now = now or datetime.now(UTC)
    if len(request.body) > MAX_BODY_BYTES:
        raise DeliveryTooLarge("too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    unsigned_allowed = settings.raw_message_delivery or settings.accept_direct_posts
    try:
        doc: Any = jsonfast.loads(request.body)
    except (ValueError, RecursionError):
        if not unsigned_allowed:
            raise MalformedDelivery("invalid_json", "body is not a JSON SNS message") from None
        doc = None
    if looks_like_envelope(doc):
        return _receive_envelope(parse_envelope(doc), context, settings, runtime, now)
    if unsigned_allowed:
        return _receive_unsigned(request, context, settings, now)
    raise MalformedDelivery(
        "not_sns",
        "body is not an SNS message (no Type/TopicArn); raw message delivery and direct "
        "posts are off for this integration",
    )


# -- signed envelopes ---------------------------------------------------------------------


def _receive_envelope(
    envelope: Envelope,
    context: ParseContext,
    settings: SnsSettings,
    runtime: SnsRuntime | None,
    now: datetime,
) -> SnsNotification | ParseResult:
    check_topic_arn_syntax(envelope.topic_arn)
    check_topic(
        envelope.topic_arn, settings.allowed_topic_arns, settings.pin_first_topic, context.state
    )
    rt = runtime or runtime_of(context)
    subscribe_url: SnsUrl | None = None
    if settings.verify_signatures:
        subscribe_url = verify_envelope(
            envelope, rt.certs, max_age_seconds=settings.max_message_age_seconds, now=now
        )
    else:
        check_fresh(envelope, now, settings.max_message_age_seconds)
    previous = sns_state(context.state)
    if envelope.type == NOTIFICATION:
        return SnsNotification(
            message=envelope.message,
            message_id=envelope.message_id,
            topic_arn=envelope.topic_arn,
            subject=envelope.subject,
            timestamp=envelope.timestamp,
            envelope=envelope.raw,
            state_updates={
                **_notification_state(envelope, settings, previous, now),
                **delivery_state(context.state, now, is_heartbeat(envelope.message)),
            },
        )
    if envelope.type == SUBSCRIPTION_CONFIRMATION:
        return _confirm(envelope, subscribe_url, settings, previous, rt, now)
    return _unsubscribed(envelope, previous, now)


def _notification_state(
    envelope: Envelope, settings: SnsSettings, previous: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """A verified notification proves a confirmed subscription (e.g. confirmed by hand)."""
    if not settings.verify_signatures:
        return {}
    needs_pin = settings.pin_first_topic and not previous.get("pinned_topic_arn")
    if previous.get("status") in (None, "pending") or needs_pin:
        return subscription_state(
            previous,
            now,
            status="confirmed",
            topic_arn=envelope.topic_arn,
            error=None,
            pin=settings.pin_first_topic,
        )
    return {}


def _confirm(
    envelope: Envelope,
    subscribe_url: SnsUrl | None,
    settings: SnsSettings,
    previous: dict[str, Any],
    runtime: SnsRuntime,
    now: datetime,
) -> ParseResult:
    topic = envelope.topic_arn
    if subscribe_url is None or not settings.auto_confirm:
        reason = (
            "signature verification is off, so the subscription is not confirmed automatically"
            if subscribe_url is None
            else "automatic confirmation is off for this integration"
        )
        state = subscription_state(
            previous,
            now,
            status="pending",
            topic_arn=topic,
            error=reason,
            subscribe_url=subscribe_url.url if subscribe_url else None,
        )
        return ParseResult(
            state_updates=state,
            response=HandshakeResponse(200, {"status": "pending", "message": reason}),
            note=f"SNS subscription to {topic} pending: {reason}",
        )
    outcome, state = confirm_and_record(
        subscribe_url,
        topic,
        previous,
        client=runtime.client,
        endpoint_url=runtime.endpoint_url,
        pin=settings.pin_first_topic,
        now=now,
    )
    if not outcome.ok:
        log.warning("SNS subscription to %s not confirmed: %s", topic, outcome.error)
        return ParseResult(
            state_updates=state,
            response=HandshakeResponse(200, {"status": "pending", "message": outcome.error}),
            note=f"SNS subscription to {topic} could not be confirmed: {outcome.error}",
        )
    restored = previous.get("status") == "unsubscribed"
    return ParseResult(
        alerts=[subscription_alert(topic, now, removed=False)] if restored else [],
        state_updates=state,
        response=HandshakeResponse(
            200, {"status": "confirmed", "subscription_arn": outcome.subscription_arn}
        ),
        note=f"SNS subscription to {topic} confirmed",
    )


def _unsubscribed(envelope: Envelope, previous: dict[str, Any], now: datetime) -> ParseResult:
    """Record an UnsubscribeConfirmation; its SubscribeURL (re-subscribe) is never called."""
    topic = envelope.topic_arn
    state = subscription_state(previous, now, status="unsubscribed", topic_arn=topic, error=None)
    return ParseResult(
        alerts=[subscription_alert(topic, now, removed=True)],
        state_updates=state,
        response=HandshakeResponse(200, {"status": "unsubscribed"}),
        note=f"SNS subscription to {topic} was deleted (not re-subscribed)",
    )


# -- unsigned deliveries ------------------------------------------------------------------


def _receive_unsigned(
    request: InboundRequest, context: ParseContext, settings: SnsSettings, now: datetime
) -> SnsNotification:
    check_shared_secret(request, settings.shared_secret_sha256, settings.shared_secret_header)
    try:
        message = request.body.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedDelivery("invalid_encoding", "body is not UTF-8") from None
    raw_type = request.headers.get(RAW_TYPE_HEADER)
    if raw_type is None:
        if not settings.accept_direct_posts:
            raise MalformedDelivery("not_sns", f"not an SNS delivery (no {RAW_TYPE_HEADER} header)")
        return SnsNotification(message, None, None, None, now, None, kind="direct")
    if not settings.raw_message_delivery:
        raise ForbiddenDelivery(
            "raw_delivery_not_enabled", "raw message delivery is off for this integration"
        )
    if raw_type != NOTIFICATION:
        raise MalformedDelivery("not_sns", f"raw delivery of a {raw_type!r} message")
    topic = request.headers.get("x-amz-sns-topic-arn", "")
    check_topic_arn_syntax(topic)
    check_topic(topic, settings.allowed_topic_arns, settings.pin_first_topic, context.state)
    return SnsNotification(
        message=message,
        message_id=request.headers.get("x-amz-sns-message-id") or None,
        topic_arn=topic,
        subject=None,
        timestamp=now,
        envelope=None,
        kind="raw",
    )
