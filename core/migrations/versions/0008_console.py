"""The incident console: notes, the audit log, and indexes for paged listings.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 20:00:00

- ``incident_notes``: notes people write on incidents (who, when, text);
- ``audit_events``: who changed what in an organization (never secrets);
- ``ix_incidents_last_alert (last_alert_at, id)``: the incidents list walks it newest first
  and pages by (last_alert_at, id) keyset cursors. It does not lead with ``service_id``
  (see 0004: no index may tie with ``uq_incidents_open_per_key``);
- ``ix_alerts_incident_id (incident_id, id)`` replaces ``ix_alerts_incident (incident_id)``:
  an incident's timeline, newest first, paged by id, without sorting all its alerts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "incident_notes",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "incident_id",
            BigId,
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_incident_notes_incident", "incident_notes", ["incident_id", "id"])
    op.create_table(
        "audit_events",
        sa.Column("id", BigId, primary_key=True),
        sa.Column(
            "organization_id",
            BigId,
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("object_type", sa.String(30), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_events_org", "audit_events", ["organization_id", "id"])
    op.create_index("ix_incidents_last_alert", "incidents", ["last_alert_at", "id"])
    op.create_index("ix_alerts_incident_id", "alerts", ["incident_id", "id"])
    op.drop_index("ix_alerts_incident", table_name="alerts")


def downgrade() -> None:
    op.create_index("ix_alerts_incident", "alerts", ["incident_id"])
    op.drop_index("ix_alerts_incident_id", table_name="alerts")
    op.drop_index("ix_incidents_last_alert", table_name="incidents")
    op.drop_index("ix_audit_events_org", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_index("ix_incident_notes_incident", table_name="incident_notes")
    op.drop_table("incident_notes")
