"""No index the planner could mistake for the hot path's unique lookups.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 22:35:00

With skewed statistics (another integration's 200,000 alerts analyzed, the live one absent
from them and so estimated at ~0 rows) PostgreSQL rated two indexes exactly as cheap as the
unique ones for alertgate_apply_alert's lookups and picked them by a tie:

- the dedupe lookup (integration_id = ? AND dedupe_key = ?) went through
  ``ix_alerts_integration_received (integration_id, received_at)`` instead of
  ``uq_alerts_dedupe`` and read every alert of the integration per call;
- the open-incident lookup (service_id = ? AND fingerprint = ? AND open) went through
  ``ix_incidents_service_status (service_id, status)`` instead of
  ``uq_incidents_open_per_key`` and read every open incident of the service.

Ingest fell to 164 deliveries/s. Statistics cannot fix this (they are what misleads), so no
index other than the unique ones may lead with those columns:

- the alert listing/retention index now leads with ``service_id`` (the dedupe lookup never
  bounds it), ``ix_alerts_service_integration_received (service_id, integration_id,
  received_at)``; its queries bound all three;
- ``ix_incidents_service_status`` is dropped: listing a service's open incidents uses
  ``uq_incidents_open_per_key`` (same predicate), other listings walk incidents newest first.

With nothing left to choose between, ``alertgate_apply_alert`` plans each statement once per
connection (``plan_cache_mode = force_generic_plan``, replacing 0003's custom plan per call:
planning was about a third of PostgreSQL's CPU per alert) and with ``enable_seqscan = off``,
so that a plan cached while the tables were empty or tiny (where a sequential scan costs
least) cannot keep scanning them once they are large.

Both dialects get the same indexes; on SQLite this is an index drop and build, no table copy.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


SIGNATURE = (
    "alertgate_apply_alert(bigint, bigint, text, text, text, text, text, text, text, "
    "timestamptz, timestamptz, timestamptz, json, json, json)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {SIGNATURE} SET plan_cache_mode = force_generic_plan")
        op.execute(f"ALTER FUNCTION {SIGNATURE} SET enable_seqscan = off")
    op.create_index(
        "ix_alerts_service_integration_received",
        "alerts",
        ["service_id", "integration_id", "received_at"],
    )
    op.drop_index("ix_alerts_integration_received", table_name="alerts")
    op.drop_index("ix_incidents_service_status", table_name="incidents")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {SIGNATURE} RESET enable_seqscan")
        op.execute(f"ALTER FUNCTION {SIGNATURE} SET plan_cache_mode = force_custom_plan")
    op.create_index("ix_incidents_service_status", "incidents", ["service_id", "status"])
    op.create_index("ix_alerts_integration_received", "alerts", ["integration_id", "received_at"])
    op.drop_index("ix_alerts_service_integration_received", table_name="alerts")
