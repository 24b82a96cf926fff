"""Pydantic models of the admin API: the handlers validate and serialize with these, and
the OpenAPI document is generated from the same classes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from alertgate.server.admin import as_utc
from alertgate.server.links import merge_links
from alertgate.storage import schema as db

if TYPE_CHECKING:
    from alertgate.registry import Plugins

T = TypeVar("T")


def integral_number(value: object) -> object:
    """JSON Schema counts ``3.0`` as an integer; strict mode alone would refuse it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Integers as JSON Schema defines them: no booleans or strings, integral numbers only.
# (Constraints before the validator: the other order loses them from the JSON Schema.)
ObjectId = Annotated[int, Field(ge=1, le=2**62), BeforeValidator(integral_number)]
"""Ids are positive and fit a signed 64-bit column."""

Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r"[^ \t\n\r\v\f]",
        description="Leading and trailing ASCII white space is dropped; something must remain.",
    ),
]
RateLimit = Annotated[int, Field(ge=0, le=100_000_000), BeforeValidator(integral_number)]
RATE_LIMIT_DOC = (
    "Deliveries a minute the Integration URL accepts per server worker process before "
    "answering 429 `rate_limited`; 0 is unlimited."
)

IncidentStatus = Literal["triggered", "acknowledged", "resolved"]


PRIVATE_STATE_PREFIX = "_"


def public_state(state: dict[str, Any]) -> dict[str, Any]:
    """An integration's state without its plugin's private keys (``_``-prefixed, at any
    depth): what the API and the CLI show."""
    return {
        key: public_state(value) if isinstance(value, dict) else value
        for key, value in state.items()
        if not key.startswith(PRIVATE_STATE_PREFIX)
    }


class ErrorBody(BaseModel):
    """Every error response: a stable machine-readable code and a human message."""

    code: str = Field(description="Stable identifier, e.g. `integration_not_found`.")
    message: str


class Page(BaseModel, Generic[T]):
    """One page of a list: ``items``, the ``total`` matching the filters, and the window."""

    items: list[T]
    total: int
    limit: int
    offset: int


class RequestBody(BaseModel):
    """A request body, validated strictly by its schema: no unknown fields and no
    coercion (``{"enabled": 0}`` is refused, not taken as false)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ServiceCreate(RequestBody):
    name: Name
    description: str = Field("", max_length=5000)


class ServiceUpdate(RequestBody):
    name: Name | None = None
    description: str | None = Field(None, max_length=5000, description="Omitted: unchanged.")


class ServiceOut(BaseModel):
    id: int
    name: str
    description: str
    created_at: datetime

    @classmethod
    def of(cls, row: db.Service) -> ServiceOut:
        return cls(
            id=row.id,
            name=row.name,
            description=row.description or "",
            created_at=as_utc(row.created_at) or row.created_at,
        )


class IntegrationCreate(RequestBody):
    service_id: ObjectId
    type: str = Field(min_length=1, max_length=100, description="Integration type slug.")
    name: Name | None = None
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Validated by the type's settings model."
    )
    rate_limit_per_minute: RateLimit | None = Field(
        None, description=RATE_LIMIT_DOC + " Omitted or null: the server's default."
    )


class IntegrationUpdate(RequestBody):
    name: Name | None = None
    settings: dict[str, Any] | None = Field(
        None, description="Replaces the settings; validated by the type's settings model."
    )
    enabled: bool | None = None
    rate_limit_per_minute: RateLimit | None = Field(
        None,
        description=RATE_LIMIT_DOC + " null: back to the server's default; omitted: unchanged.",
    )


class StateItemOut(BaseModel):
    """One fact the integration's plugin tells about its recorded state."""

    label: str
    value: str
    status: str | None = Field(
        None, description="A badge (ok, pending, off, waiting) or error; null for a plain fact."
    )
    code: bool = Field(False, description="The value is an identifier (e.g. an ARN).")


class ActionOut(BaseModel):
    """An action the integration's plugin offers in its current state."""

    name: str = Field(description="What to send to `POST /api/v1/integrations/{id}/actions`.")
    label: str
    description: str


class IntegrationOut(BaseModel):
    id: int
    service_id: int
    type: str
    name: str
    key_prefix: str = Field(description="The first characters of the key, to recognise it.")
    enabled: bool
    settings: dict[str, Any]
    rate_limit_per_minute: int | None = Field(
        description=RATE_LIMIT_DOC + " null: the server's default."
    )
    state: dict[str, Any] = Field(
        description="Recorded by deliveries (e.g. SNS subscription); a plugin's private keys "
        "(starting with `_`) are left out."
    )
    state_items: list[StateItemOut] = Field(
        description="The recorded state as its plugin describes it (the web UI shows the same)."
    )
    actions: list[ActionOut] = Field(
        description="What can be done to it now (e.g. `retry_confirmation` while an SNS "
        "subscription is pending); buttons on its page in the web UI."
    )
    created_at: datetime
    last_alert_at: datetime | None

    @classmethod
    def of(cls, row: db.Integration, plugins: Plugins) -> IntegrationOut:
        state = dict(row.state or {})
        items = plugins.describe_state(row.type, state)
        return cls(
            id=row.id,
            service_id=row.service_id,
            type=row.type,
            name=row.name,
            key_prefix=row.key_prefix,
            enabled=row.enabled,
            settings=dict(row.settings or {}),
            rate_limit_per_minute=row.rate_limit_per_minute,
            state=public_state(state),
            state_items=[StateItemOut.model_validate(asdict(item)) for item in items],
            actions=[
                ActionOut.model_validate(asdict(a))
                for a in plugins.integration_actions(row.type, state)
            ],
            created_at=as_utc(row.created_at) or row.created_at,
            last_alert_at=as_utc(row.last_alert_at),
        )


class ActionRun(RequestBody):
    action: str = Field(
        min_length=1, max_length=64, description="The `name` of one of the integration's `actions`."
    )


class ActionRunOut(BaseModel):
    ok: bool = Field(description="Whether the action did what it set out to do.")
    message: str
    integration: IntegrationOut


class IntegrationWithUrl(IntegrationOut):
    """Returned at creation and key rotation only: the one time the URL is shown."""

    integration_url: str
    key: str


class AlertOut(BaseModel):
    id: int
    integration_id: int
    incident_id: int | None
    dedupe_key: str | None
    fingerprint: str
    action: str
    outcome: str
    kind: str
    title: str
    severity: str
    summary: str
    source_time: datetime
    received_at: datetime
    attributes: dict[str, Any]
    links: dict[str, str] = {}
    """Named links the plugin made (e.g. AWS console deep links), https only."""

    @classmethod
    def of(cls, row: db.Alert) -> AlertOut:
        return cls(
            id=row.id,
            integration_id=row.integration_id,
            incident_id=row.incident_id,
            dedupe_key=row.dedupe_key,
            fingerprint=row.fingerprint,
            action=row.action,
            outcome=row.outcome,
            kind=row.kind,
            title=row.title,
            severity=row.severity,
            summary=row.summary or "",
            source_time=as_utc(row.source_time) or row.source_time,
            received_at=as_utc(row.received_at) or row.received_at,
            attributes=dict(row.attributes or {}),
            links=merge_links([row.links]),
        )


class IncidentOut(BaseModel):
    id: int
    service_id: int
    service: str
    integration_id: int | None
    fingerprint: str
    title: str
    severity: str
    status: IncidentStatus
    alert_count: int
    first_alert_at: datetime
    last_alert_at: datetime
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    out_of_order: bool
    """Made already resolved by alerts that arrived out of order (never open)."""

    @classmethod
    def of(cls, row: db.Incident, service: str) -> IncidentOut:
        return cls(
            id=row.id,
            service_id=row.service_id,
            service=service,
            integration_id=row.integration_id,
            fingerprint=row.fingerprint,
            title=row.title,
            severity=row.severity,
            status=row.status,
            alert_count=row.alert_count,
            first_alert_at=as_utc(row.first_alert_at) or row.first_alert_at,
            last_alert_at=as_utc(row.last_alert_at) or row.last_alert_at,
            created_at=as_utc(row.created_at) or row.created_at,
            acknowledged_at=as_utc(row.acknowledged_at),
            acknowledged_by=row.acknowledged_by,
            resolved_at=as_utc(row.resolved_at),
            resolved_by=row.resolved_by,
            out_of_order=bool(row.out_of_order),
        )


class IncidentDetail(IncidentOut):
    alerts: list[AlertOut]
    links: dict[str, str] = {}
    """The incident's links: its alerts' links, the opening alert's first."""


class PluginOut(BaseModel):
    slug: str | None
    title: str | None
    description: str | None
    docs_url: str | None
    plugin: str
    distribution: str
    version: str
    builtin: bool
    hooks: list[str]
    status: Literal["ok", "broken"] = Field(
        "ok", description="`broken`: the plugin failed to load and is set aside (see `error`)."
    )
    error: str | None = Field(None, description="Why a broken plugin failed to load.")
    settings_schema: dict[str, Any] | None = Field(
        None, description="JSON Schema of the type's per-integration settings."
    )


class DeliveryOutcome(BaseModel):
    outcome: str
    alert_id: int | None = None
    incident_id: int | None = None


class DeliveryAccepted(BaseModel):
    """Body of a 2xx answer at an Integration URL (unless the plugin answers a handshake)."""

    status: Literal["accepted"] = "accepted"
    alerts: int
    outcomes: list[DeliveryOutcome]


class TestIncident(BaseModel):
    """The incident a test alert opened or joined."""

    __test__ = False

    id: int
    title: str
    status: str
    severity: str
    fingerprint: str


class TestAlertRow(BaseModel):
    __test__ = False

    title: str
    outcome: str
    alert_id: int | None
    incident: TestIncident | None


class TestAlertOut(BaseModel):
    """What ``POST /api/v1/integrations/{id}/test`` did: each alert and its incident."""

    __test__ = False

    integration_id: int
    note: str | None
    alerts: list[TestAlertRow]
