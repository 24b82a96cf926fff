"""Out-of-order alerts are placed where a sequential replay would put them (issue 25).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:05:00

- ``incidents.out_of_order``: the incident was made already resolved by alerts that arrived
  out of order (e.g. an ALARM delivered after the OK that ends it).
- ``ix_incidents_resolved_span``: a grouping key's resolved incidents by first alert time,
  to find the one whose span contains a late alert. Partial on ``status = 'resolved'`` and
  leading with ``fingerprint``, so it can never tie with ``uq_incidents_open_per_key`` for
  the hot open-incident lookup (migration 0004).
- ``ix_alerts_unmatched_resolve``: a grouping key's resolves that belong to no incident, by
  source time, to find the resolve that ends a late trigger's incident. Partial: it holds
  only those resolves.

``alertgate_apply_alert`` (PostgreSQL) is unchanged: it still reports an alert older than
its key's clock as ``stale``, and the engine places that alert afterwards in the same
transaction with the same code on both databases (core/engine/late.py). The common
in-order path gains no statement.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RESOLVED = "status = 'resolved'"
UNMATCHED = "action = 'resolve' AND incident_id IS NULL"


def upgrade() -> None:
    op.add_column(
        "incidents",
        sa.Column("out_of_order", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_index(
        "ix_incidents_resolved_span",
        "incidents",
        ["fingerprint", "service_id", "first_alert_at"],
        sqlite_where=sa.text(RESOLVED),
        postgresql_where=sa.text(RESOLVED),
    )
    op.create_index(
        "ix_alerts_unmatched_resolve",
        "alerts",
        ["fingerprint", "service_id", "source_time"],
        sqlite_where=sa.text(UNMATCHED),
        postgresql_where=sa.text(UNMATCHED),
    )


def downgrade() -> None:
    op.drop_index("ix_alerts_unmatched_resolve", table_name="alerts")
    op.drop_index("ix_incidents_resolved_span", table_name="incidents")
    op.drop_column("incidents", "out_of_order")
