"""Request and response models of the notification API (channels, rules, silences)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict

from alertgate.notify.types import ROUTABLE_EVENTS, NotifyEvent
from alertgate.server.schemas import Name, ObjectId, RequestBody, integral_number

EventName = Literal["opened", "acknowledged", "resolved", "renotified"]
SeverityName = Literal["critical", "error", "warning", "info"]
DEFAULT_EVENTS: list[EventName] = [e.value for e in ROUTABLE_EVENTS]  # type: ignore[misc]
ChannelRateLimit = Annotated[int, Field(ge=0, le=10_000), BeforeValidator(integral_number)]
"""``5.0`` is an integer in JSON Schema, ``"5"`` is not (the bodies are strict)."""
Minutes = Annotated[int, Field(ge=1, le=7 * 24 * 60), BeforeValidator(integral_number)]
Times = Annotated[int, Field(ge=1, le=100), BeforeValidator(integral_number)]
Weekday = Annotated[int, Field(ge=0, le=6), BeforeValidator(integral_number)]
JsonTime = Annotated[datetime, Strict(False)]
"""A time in a strict body: JSON has no datetime type, so an ISO 8601 string is the value."""
RULE_EVENTS: list[EventName] = [*DEFAULT_EVENTS, NotifyEvent.RENOTIFIED.value]
"""What a rule may choose: ``renotified`` also sends the rule's escalation re-notifications
to its own channel, so it needs an escalation (its timing); it is not a default."""


class ChannelCreate(RequestBody):
    type: str = Field(min_length=1, max_length=100, description="Channel type slug.")
    name: Name
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Settings of the type; secret fields are write-only (stored encrypted).",
    )
    rate_limit_per_minute: ChannelRateLimit = Field(
        20,
        description="Messages per rate window; beyond it notifications are folded into one "
        "digest (0: no limit).",
    )


class ChannelUpdate(RequestBody):
    """What to change; an omitted (or null) field is unchanged."""

    name: Name | None = None
    enabled: bool | None = Field(None, description="A disabled channel is sent nothing.")
    settings: dict[str, Any] | None = Field(
        None,
        description="Merged into the stored settings: given fields replace theirs, a field "
        "given as null returns to the type's default, omitted fields (secret ones too) keep "
        "their stored value. Validated by the type's settings model, as on create.",
    )
    rate_limit_per_minute: ChannelRateLimit | None = Field(
        None, description="Messages per rate window (0: no limit)."
    )


class ChannelOut(BaseModel):
    id: int
    name: str
    type: str
    settings: dict[str, Any] = Field(description="Non-secret settings.")
    secrets: dict[str, str] = Field(description="Secret fields that are set, masked.")
    enabled: bool
    rate_limit_per_minute: int
    created_at: datetime


class ChannelList(BaseModel):
    items: list[ChannelOut]


class TestResult(BaseModel):
    ok: bool
    error: str | None = None
    idempotency_key: str


class EscalationIn(RequestBody):
    channel_id: ObjectId = Field(description="Where re-notifications go.")
    after_minutes: Minutes = Field(description="First one this long after opening.")
    every_minutes: Minutes = Field(description="Then this often.")
    times: Times = Field(1, description="At most this many.")


class EscalationOut(EscalationIn):
    channel: str


class RuleCreate(RequestBody):
    service_id: ObjectId | None = Field(
        None, description="The service; omit for the organization default."
    )
    channel_id: ObjectId
    events: list[EventName] = Field(
        default_factory=lambda: list(DEFAULT_EVENTS),
        max_length=len(RULE_EVENTS),
        description="Sent to the channel: opened, acknowledged, resolved (the default) and "
        "renotified (the escalation's re-notifications, also to this channel; needs "
        "escalation).",
    )
    min_severity: SeverityName = "info"
    escalation: EscalationIn | None = Field(
        None, description="Re-notify incidents still triggered after a while."
    )


class RuleUpdate(RequestBody):
    """What to change; an omitted (or null) field is unchanged, except ``escalation``:
    null removes it."""

    channel_id: ObjectId | None = None
    events: list[EventName] | None = Field(
        None,
        max_length=len(RULE_EVENTS),
        description="Replaces the events, as on create (renotified needs an escalation).",
    )
    min_severity: SeverityName | None = None
    escalation: EscalationIn | None = Field(
        None, description="Replaces the escalation; null removes it; omitted: unchanged."
    )


class RuleOut(BaseModel):
    id: int
    service_id: int | None
    service: str | None = Field(description="None: the organization default.")
    channel_id: int
    channel: str
    events: list[str]
    min_severity: str
    escalation: EscalationOut | None = None
    created_at: datetime


class RuleList(BaseModel):
    items: list[RuleOut]


class WeeklyWindow(RequestBody):
    days: list[Weekday] = Field(min_length=1, max_length=7, description="0 = Monday ... 6 = Sunday")
    start: str = Field(pattern=r"^\d{2}:\d{2}$", description="HH:MM, UTC")
    end: str = Field(pattern=r"^\d{2}:\d{2}$", description="HH:MM, UTC (before start: overnight)")


class SilenceCreate(RequestBody):
    service_id: ObjectId | None = Field(
        None, description="Only this service; omit for every service."
    )
    matchers: dict[str, str] = Field(
        default_factory=dict,
        description="title, fingerprint, severity, integration, service or attributes.NAME "
        "to a glob; all must match.",
    )
    starts_at: JsonTime | None = Field(None, description="Default: now.")
    ends_at: JsonTime
    weekly: WeeklyWindow | None = None
    comment: str = Field("", max_length=2000)


class SilenceOut(BaseModel):
    id: int
    service_id: int | None
    service: str | None
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    weekly: dict[str, Any] | None
    comment: str
    created_by: str
    created_at: datetime
    active: bool = Field(description="In force now (started, not ended, inside its window).")
    expired: bool


class SilenceList(BaseModel):
    items: list[SilenceOut]


class SilenceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include_expired: bool = False


class NotificationOut(BaseModel):
    id: int
    incident_id: int
    channel_id: int
    channel: str
    event: str
    status: str = Field(
        description="pending, sending, delivered, failed, suppressed (silence_id says by "
        "which silence), folded (over the rate limit) or digested (digest_id carried it)."
    )
    attempts: int
    idempotency_key: str
    last_error: str | None
    silence_id: int | None
    digest_id: int | None
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationOut]


def utcnow() -> datetime:
    return datetime.now(UTC)
