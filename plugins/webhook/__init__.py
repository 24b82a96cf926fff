"""The ``webhook`` channel: the notification body as JSON, POSTed and signed.

Headers: ``X-Alertgate-Signature: sha256=<hex HMAC-SHA256 of the body with the channel's
secret>`` (when the channel has a secret), ``X-Alertgate-Idempotency-Key`` (the same on
every attempt of one notification) and ``X-Alertgate-Event``. The body's schema is
``schema.json`` beside this file (docs/notifications.md shows an example).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from alertgate import URL_SCHEMA, ChannelPlugin, ChannelType, Notification, OutboundHttp, check_url

SLUG = "webhook"
SCHEMA_PATH = Path(__file__).with_name("schema.json")
SIGNATURE_HEADER = "X-Alertgate-Signature"
IDEMPOTENCY_HEADER = "X-Alertgate-Idempotency-Key"
EVENT_HEADER = "X-Alertgate-Event"


class WebhookSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        description="Where to POST (http or https).", max_length=2048, json_schema_extra=URL_SCHEMA
    )
    secret: SecretStr | None = Field(
        None,
        description="HMAC-SHA256 key of the X-Alertgate-Signature header; without one the "
        "header is left out.",
    )

    @field_validator("url")
    @classmethod
    def _outbound(cls, value: str) -> str:
        return check_url(value)


def body_of(payload: Any) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhook(ChannelPlugin):
    channel_type = ChannelType(
        slug=SLUG,
        title="Webhook",
        description="POSTs the notification as JSON, signed with HMAC-SHA256.",
        settings_model=WebhookSettings,
    )

    def send(self, notification: Notification, settings: Any, http: OutboundHttp) -> None:
        assert isinstance(settings, WebhookSettings)
        body = body_of(notification.payload)
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: notification.idempotency_key,
            EVENT_HEADER: notification.event.value,
        }
        if settings.secret is not None:
            headers[SIGNATURE_HEADER] = sign(settings.secret.get_secret_value(), body)
        http.post(settings.url, content=body, headers=headers)


plugin = Webhook()
