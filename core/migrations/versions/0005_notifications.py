"""Notifications: channels, routing rules, silences and the outbox.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:10:00

The outbox (``notifications``) is written in the same transaction as the incident change
that causes it and drained by the dispatcher of every server worker; ``ix_notifications_due``
serves the claim query (``status``, ``next_attempt_at``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_config",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "notification_channels",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "organization_id",
            BigId,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("organization_id", "name"),
    )
    op.create_index(
        "ix_notification_channels_organization_id", "notification_channels", ["organization_id"]
    )
    op.create_table(
        "notification_rules",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "organization_id",
            BigId,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("service_id", BigId, sa.ForeignKey("services.id", ondelete="CASCADE")),
        sa.Column(
            "channel_id",
            BigId,
            sa.ForeignKey("notification_channels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("min_severity", sa.String(20), nullable=False),
        sa.Column(
            "escalation_channel_id",
            BigId,
            sa.ForeignKey("notification_channels.id", ondelete="SET NULL"),
        ),
        sa.Column("escalate_after_minutes", sa.Integer(), nullable=True),
        sa.Column("escalate_every_minutes", sa.Integer(), nullable=True),
        sa.Column("escalate_times", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("organization_id", "service_id", "channel_id"):
        op.create_index(f"ix_notification_rules_{column}", "notification_rules", [column])
    op.create_table(
        "silences",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "organization_id",
            BigId,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("service_id", BigId, sa.ForeignKey("services.id", ondelete="CASCADE")),
        sa.Column("matchers", sa.JSON(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("weekly", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_silences_organization_id", "silences", ["organization_id"])
    op.create_index("ix_silences_service_id", "silences", ["service_id"])
    op.create_table(
        "notifications",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "incident_id", BigId, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "channel_id",
            BigId,
            sa.ForeignKey("notification_channels.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False, unique=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_token", sa.String(64), nullable=True),
        sa.Column("silence_id", BigId, sa.ForeignKey("silences.id", ondelete="SET NULL")),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("digest_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_notifications_due", "notifications", ["status", "next_attempt_at"])
    op.create_index("ix_notifications_incident", "notifications", ["incident_id"])
    op.create_index("ix_notifications_channel_id", "notifications", ["channel_id"])


def downgrade() -> None:
    for table in (
        "notifications",
        "silences",
        "notification_rules",
        "notification_channels",
        "notify_config",
    ):
        op.drop_table(table)
