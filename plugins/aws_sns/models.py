"""Per-integration SNS settings and the unwrapped notification handed to AWS plugins."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alertgate.plugins.aws_sns.verify import DEFAULT_MAX_AGE_SECONDS


class SnsSettings(BaseModel):
    """Per-integration SNS options, inherited by the settings model of every AWS type."""

    # A misspelt option must be an error, not a silently ignored key. The JSON schema
    # states the rule of _unsigned_needs_secret, so the API document allows only what
    # validates.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {
                "anyOf": [
                    {
                        "properties": {"raw_message_delivery": {"const": True}},
                        "required": ["raw_message_delivery"],
                    },
                    {
                        "properties": {"accept_direct_posts": {"const": True}},
                        "required": ["accept_direct_posts"],
                    },
                ]
            },
            "then": {
                "required": ["shared_secret_sha256"],
                "properties": {"shared_secret_sha256": {"type": "string"}},
            },
        },
    )

    verify_signatures: bool = Field(
        True,
        title="Verify SNS signatures",
        description="Check the SNS signature of every message. Turn off only to debug: it also "
        "stops automatic subscription confirmation.",
    )
    allowed_topic_arns: list[str] = Field(
        default_factory=list,
        title="Allowed SNS topics",
        description="Accept messages only from these topic ARNs. Empty: any topic.",
    )
    pin_first_topic: bool = Field(
        False,
        title="Stay with the first topic",
        description="Accept only the first topic whose subscription confirms (or, if it was "
        "confirmed by hand, whose first verified message arrives).",
    )
    auto_confirm: bool = Field(
        True,
        title="Confirm subscriptions automatically",
        description="Confirm an SNS subscription as soon as its signed request arrives. Off: "
        "confirm it yourself with Retry confirmation or in the AWS console.",
        json_schema_extra={"docs_url": "docs/sns.md#subscription-state"},
    )
    max_message_age_seconds: int = Field(
        DEFAULT_MAX_AGE_SECONDS,
        ge=0,
        title="Oldest message accepted, in seconds",
        description="Messages signed longer ago are refused as replays. The default covers SNS's "
        "longest retry span (1 hour) plus 1 hour; 0 turns the check off.",
    )
    account_names: dict[str, str] = Field(
        default_factory=dict,
        max_length=1000,
        title="AWS account names",
        description="The names people know your AWS accounts by, as account id to name (e.g. "
        '{"123456789012": "production"}): shown in alert titles and as the '
        "account_name attribute.",
    )
    heartbeat_hours: int | None = Field(
        None,
        ge=1,
        le=168,
        title="Hours without a heartbeat before an incident",
        description='Open the incident "No heartbeat for N hours" when no alertgate '
        "heartbeat (the hourly schedule of `alertgate aws template/deploy --heartbeat`) "
        "arrived for this many hours; resolved when one arrives. Empty (the default): no "
        "such incident; `alertgate aws deploy --heartbeat` sets 3.",
        json_schema_extra={"docs_url": "docs/sns.md#subscription-state"},
    )
    raw_message_delivery: bool = Field(
        False,
        title="Accept SNS raw message delivery",
        description="Also accept messages sent with raw message delivery. They are not signed, "
        "so they need the shared secret below.",
        json_schema_extra={
            "docs_url": "docs/sns.md#raw-message-delivery-and-direct-posts-unsigned"
        },
    )
    accept_direct_posts: bool = Field(
        False,
        title="Accept unsigned direct posts",
        description="Also accept unsigned posts straight from a sender such as an EventBridge "
        "API destination. They need the shared secret below.",
        json_schema_extra={
            "docs_url": "docs/sns.md#raw-message-delivery-and-direct-posts-unsigned"
        },
    )
    shared_secret_sha256: str | None = Field(
        None,
        title="Shared secret, as its SHA-256",
        description="For unsigned deliveries: the hex SHA-256 digest of the secret they must "
        "carry (never the secret itself), in the header below or as the HTTP Basic "
        "password.",
        json_schema_extra={"pattern": "^[0-9a-fA-F]{64}$"},
    )
    shared_secret_header: str = Field(
        "x-alertgate-key",
        title="Header with the shared secret",
        description="The HTTP header unsigned deliveries carry the secret in (for EventBridge: "
        "its connection's API key name).",
        json_schema_extra={"pattern": "^[A-Za-z0-9-]{1,64}$"},
    )

    @field_validator("shared_secret_sha256")
    @classmethod
    def _hex_digest(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise ValueError("must be a hex SHA-256 digest (64 hex digits), not the secret")
        return value.lower() if value else value

    @field_validator("shared_secret_header")
    @classmethod
    def _header_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", value):
            raise ValueError("must be an HTTP header name")
        return value.lower()

    @model_validator(mode="after")
    def _unsigned_needs_secret(self) -> SnsSettings:
        if (self.raw_message_delivery or self.accept_direct_posts) and not (
            self.shared_secret_sha256
        ):
            raise ValueError(
                "raw_message_delivery and accept_direct_posts need shared_secret_sha256"
            )
        return self


DeliveryKind = Literal["sns", "raw", "direct"]


@dataclass(frozen=True, slots=True)
class SnsNotification:
    """A verified SNS Notification, unwrapped."""

    message: str
    message_id: str | None
    topic_arn: str | None
    subject: str | None
    timestamp: datetime
    envelope: dict[str, Any] | None
    """The envelope as received; ``None`` for raw message delivery and direct posts."""
    kind: DeliveryKind = "sns"
    """``sns`` (signed envelope), ``raw`` (SNS raw message delivery) or ``direct`` (an
    unsigned direct post such as an EventBridge API destination)."""
    state_updates: dict[str, Any] = field(default_factory=dict)
    """Copy into ``ParseResult.state_updates``: set when this delivery changes the
    integration's SNS state (first verified notification: confirmed / pinned topic)."""
