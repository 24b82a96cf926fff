"""The database schema, as SQLAlchemy 2 declarative models.

Every table works on SQLite and PostgreSQL. Invariants the engine relies on are enforced
here, by the database, not only by code:

* one open (triggered or acknowledged) incident per (service, fingerprint): a partial
  unique index;
* one stored alert per (integration, dedupe key): a unique constraint (NULL keys are
  never deduplicated).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
BigId = BigInteger().with_variant(Integer(), "sqlite")

OPEN_STATUSES = ("triggered", "acknowledged")
OPEN_STATUS_SQL = "status IN ('triggered', 'acknowledged')"
"""The partial index predicate. Queries for the open incident repeat it verbatim, so that
SQLite's planner can prove the partial index applies."""

SQLITE_DATETIME_FORMAT = "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.{:06d}"


def to_utc(value: datetime) -> datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def sqlite_datetime(value: datetime) -> str:
    """How a datetime is stored in SQLite: fixed-width naive UTC text.

    The same format SQLAlchemy writes, so raw SQL on the hot path and ORM reads agree, and
    fixed width makes text order equal time order.
    """
    v = to_utc(value)
    return SQLITE_DATETIME_FORMAT.format(
        v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond
    )


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware (UTC).

    SQLite has no time zone type; without this, reads there would return naive values
    while PostgreSQL returns aware ones.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = to_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else to_utc(value)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]


class ApiToken(Base):
    """An API token. Only a hash of the secret is stored; ``prefix`` identifies it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    prefix: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SetupCode(Base):
    """A one-time code that `/setup` requires while no API token exists (hash only).

    ``alertgate serve`` and ``alertgate db upgrade`` print a new one on a database without
    tokens; the first successful set-up deletes them all.
    """

    __tablename__ = "setup_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in web UI session; the cookie carries its secret id, this row its state.

    Logging out deletes the row and revoking (or deleting) the token ends it, so a copied
    cookie stops working at once.
    """

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class Integration(Base):
    """An Integration URL. ``key_hash`` is a hash of the secret key in the URL."""

    __tablename__ = "integrations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(128), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(32))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Recorded by deliveries, e.g. SNS subscription status and pinned topic."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer, default=None)
    """Deliveries a minute this integration's URL accepts before answering 429; ``None``
    takes ``ALERTGATE_RATE_LIMIT_PER_MINUTE``."""
    created_at: Mapped[datetime]
    last_alert_at: Mapped[datetime | None]


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index(
            "uq_incidents_open_per_key",
            "service_id",
            "fingerprint",
            unique=True,
            sqlite_where=text("status IN ('triggered', 'acknowledged')"),
            postgresql_where=text("status IN ('triggered', 'acknowledged')"),
        ),
        # No other index on incidents may lead with service_id: with skewed statistics (a
        # service absent from them is estimated at ~0 rows) the planner rates any such index
        # as cheap as this one for the hot open-incident lookup, picks it by a tie, and then
        # reads every incident of the service per alert (migration 0004).
        # Placing an out-of-order alert (alertgate.engine.late) looks up a grouping key's
        # resolved incidents by time. Partial on resolved, so the hot open-incident lookup
        # can never use it (its predicate does not imply status = 'resolved').
        Index(
            "ix_incidents_resolved_span",
            "fingerprint",
            "service_id",
            "first_alert_at",
            sqlite_where=text("status = 'resolved'"),
            postgresql_where=text("status = 'resolved'"),
        ),
        # The console lists incidents by last alert, newest first, paged by (time, id).
        Index("ix_incidents_last_alert", "last_alert_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL")
    )
    """The integration whose alert opened the incident."""
    fingerprint: Mapped[str] = mapped_column(String(512))
    title: Mapped[str] = mapped_column(String(1000))
    severity: Mapped[str] = mapped_column(String(20))
    """Highest severity seen among the incident's alerts."""
    status: Mapped[str] = mapped_column(String(20))
    """triggered, acknowledged or resolved. A resolved incident never reopens."""
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    """Triggering alerts attached (the opening one included); stale, info and resolving
    alerts are not counted."""
    first_alert_at: Mapped[datetime]
    last_alert_at: Mapped[datetime]
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    """``alert`` (a resolving alert), ``quiet-period`` (the sweep) or the acting user."""
    out_of_order: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """Made already resolved by alerts that arrived out of order (a trigger older than the
    resolve that ends it): never open in alertgate, reported opened and resolved at once."""


class Alert(Base):
    """Every accepted alert, including info, stale and unmatched resolves."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("integration_id", "dedupe_key", name="uq_alerts_dedupe"),
        # An incident's timeline, newest first, paged by id (migration 0008).
        Index("ix_alerts_incident_id", "incident_id", "id"),
        # Listing and retention walk an integration's alerts by time. The index leads with
        # service_id, which the dedupe lookup (integration_id, dedupe_key) never bounds: an
        # index leading with integration_id ties with uq_alerts_dedupe in the planner's eyes
        # when statistics say the integration has ~0 rows, and lost the tie, reading every
        # alert of the integration per lookup (migration 0004). Queries using it must bound
        # service_id too.
        Index(
            "ix_alerts_service_integration_received", "service_id", "integration_id", "received_at"
        ),
        # Resolves that belong to no incident (they found nothing open, or arrived out of
        # order between incidents), by grouping key and time: a late trigger looks here for
        # the resolve that ends it (alertgate.engine.late). Partial, so it holds only those
        # few rows; the hot path's inserts of other alerts only test the predicate.
        Index(
            "ix_alerts_unmatched_resolve",
            "fingerprint",
            "service_id",
            "source_time",
            sqlite_where=text("action = 'resolve' AND incident_id IS NULL"),
            postgresql_where=text("action = 'resolve' AND incident_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str | None] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(512))
    action: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(30))
    """What the engine did: opened, attached, resolved, late_opened, late_attached,
    late_resolved, stale, no_open_incident, info (see alertgate.engine.types.Outcome).
    (``duplicate`` is reported to the caller but never stored: duplicates are dropped.)"""
    kind: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(1000))
    severity: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text, default="")
    source_time: Mapped[datetime]
    received_at: Mapped[datetime]
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    links: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    payload: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    """The original payload; pruned by retention, everything else stays."""


class FingerprintState(Base):
    """Source time of the last state change applied per grouping key (ordering guard)."""

    __tablename__ = "fingerprint_states"

    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(512), primary_key=True)
    last_source_time: Mapped[datetime]
    """Source time of the newest trigger or resolve applied; older ones are stale."""
    last_action: Mapped[str] = mapped_column(String(20))


# -- notifications (core/notify) -------------------------------------------------------------


class NotifyConfig(Base):
    """One row whose ``version`` grows with every change to channels, rules or silences:
    workers cache the routing table and reload it only when this changes."""

    __tablename__ = "notify_config"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class NotificationChannel(Base):
    """A configured destination of a channel type (a plugin). Secret settings are kept
    only in ``secrets``, encrypted (Fernet, ``ALERTGATE_SECRET_KEY``)."""

    __tablename__ = "notification_channels"
    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """The non-secret settings."""
    secrets: Mapped[str | None] = mapped_column(Text)
    """Fernet token of the secret settings (JSON), or NULL when the type has none set."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limit_per_minute: Mapped[int] = mapped_column(Integer, default=20)
    """Messages per minute; beyond it notifications are folded into one digest (0: no
    limit)."""
    created_at: Mapped[datetime]


class NotificationRule(Base):
    """Which events of a service's incidents go to a channel. ``service_id`` NULL: the
    organization's default, used for services without a rule of their own."""

    __tablename__ = "notification_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_severity: Mapped[str] = mapped_column(String(20), default="info")
    escalation_channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="SET NULL")
    )
    """Escalation: an incident still triggered ``escalate_after_minutes`` after it opened is
    re-notified here every ``escalate_every_minutes``, at most ``escalate_times`` times."""
    escalate_after_minutes: Mapped[int | None] = mapped_column(Integer)
    escalate_every_minutes: Mapped[int | None] = mapped_column(Integer)
    escalate_times: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Silence(Base):
    """Suppresses notifications of matching incidents between ``starts_at`` and
    ``ends_at`` (and, when ``weekly`` is set, only inside its weekly window)."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    matchers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Key (``title``, ``fingerprint``, ``severity``, ``integration``,
    ``attributes.NAME``) to a glob; all must match."""
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    weekly: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """Optional recurring window: ``{"days": [0..6], "start": "HH:MM", "end": "HH:MM"}``
    (UTC, Monday = 0)."""
    comment: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class Notification(Base):
    """The outbox: one message to one channel, written in the transaction of the incident
    change that causes it, delivered (or failed) later by a dispatcher."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_incident", "incident_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    """Stable for the life of the notification: every attempt carries the same one."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20))
    """pending, sending (claimed under a lease), delivered, failed, suppressed (by a
    silence), folded (over the channel's rate limit, waiting for a digest) or digested
    (carried by the digest ``digest_id``)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    """Due time while pending; the lease's expiry while sending."""
    lease_token: Mapped[str | None] = mapped_column(String(64))
    silence_id: Mapped[int | None] = mapped_column(ForeignKey("silences.id", ondelete="SET NULL"))
    last_error: Mapped[str | None] = mapped_column(String(500))
    digest_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


# -- console (incident notes, audit log) -----------------------------------------------------


class IncidentNote(Base):
    """A note a person wrote on an incident; shown on its timeline with who and when."""

    __tablename__ = "incident_notes"
    __table_args__ = (Index("ix_incident_notes_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """Who changed what in an organization, and when. ``detail`` never holds secrets:
    changed settings are recorded by field name only."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_org", "organization_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    """``token:<prefix>`` (API), ``web:<token name>`` (UI), ``cli`` or
    ``ack-link[:name]`` (a notification's acknowledge link)."""
    action: Mapped[str] = mapped_column(String(60))
    """``<object type>.<verb>``, e.g. ``integration.rotate_key``."""
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
