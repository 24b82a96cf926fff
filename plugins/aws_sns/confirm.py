"""Automatic subscription confirmation: one GET of the allow-listed ``SubscribeURL``.

Called only after the SubscriptionConfirmation's signature verified. The GET follows no
redirects, has a timeout, reads at most a few KiB of the answer and never raises: the
outcome (subscription ARN or error text) is recorded on the integration.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from alertgate.blocking import before_blocking_io
from alertgate.plugins.aws_sns.state import subscription_state
from alertgate.plugins.aws_sns.urls import SnsUrl

MAX_RESPONSE_BYTES = 64 * 1024
# A regex instead of an XML parser: the answer is untrusted and only one element is needed.
_SUBSCRIPTION_ARN = re.compile(rb"<SubscriptionArn>\s*([^<\s]{1,2048})\s*</SubscriptionArn>")


@dataclass(frozen=True, slots=True)
class ConfirmOutcome:
    """Result of a confirmation call: ``ok`` with the ARN SNS returned, or an error."""

    ok: bool
    subscription_arn: str | None = None
    error: str | None = None


def confirm_subscription(
    url: SnsUrl, client: httpx.Client, endpoint_url: str | None = None
) -> ConfirmOutcome:
    """GET the SubscribeURL (or its path on ``endpoint_url``) and read the SubscriptionArn."""
    before_blocking_io("SNS subscription confirmation")
    target = url.target(endpoint_url)
    try:
        with client.stream("GET", target) as response:
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_RESPONSE_BYTES:
                    break
            status = response.status_code
    except httpx.HTTPError as exc:
        return ConfirmOutcome(False, error=f"confirmation request failed: {type(exc).__name__}")
    if status != 200:
        return ConfirmOutcome(False, error=f"confirmation request answered HTTP {status}")
    match = _SUBSCRIPTION_ARN.search(bytes(data))
    arn = html.unescape(match.group(1).decode("utf-8", "replace")) if match else None
    return ConfirmOutcome(True, subscription_arn=arn)


def confirm_and_record(
    url: SnsUrl,
    topic_arn: str,
    previous: Mapping[str, Any],
    *,
    client: httpx.Client,
    endpoint_url: str | None,
    pin: bool,
    now: datetime,
) -> tuple[ConfirmOutcome, dict[str, Any]]:
    """Confirm, and the new ``sns`` state that records how it went: ``confirmed`` (the
    topic pinned when ``pin``), or still ``pending`` with the error and the URL kept for a
    retry. One rule for automatic confirmation and for "Retry confirmation"."""
    outcome = confirm_subscription(url, client, endpoint_url)
    if outcome.ok:
        state = subscription_state(
            previous,
            now,
            status="confirmed",
            topic_arn=topic_arn,
            error=None,
            subscription_arn=outcome.subscription_arn,
            pin=pin,
        )
    else:
        state = subscription_state(
            previous,
            now,
            status="pending",
            topic_arn=topic_arn,
            error=outcome.error,
            subscribe_url=url.url,
        )
    return outcome, state
