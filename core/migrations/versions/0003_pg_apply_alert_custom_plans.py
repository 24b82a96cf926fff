"""PostgreSQL: plan alertgate_apply_alert's statements with current statistics.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 21:05:00

PL/pgSQL caches a generic plan per statement after a few calls. Planned while ``alerts`` was
still small, the dedupe lookup (``integration_id = $1 AND dedupe_key = $2``) settled on
``ix_alerts_integration_received`` instead of ``uq_alerts_dedupe`` and then read every alert
of the integration on every call: measured by the benchmark as ~8,300 index tuples read per
lookup after 20,000 deliveries, with ingest slowing as the table grew. Custom plans cost a
little planning per call and always pick the unique index.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SIGNATURE = (
    "alertgate_apply_alert(bigint, bigint, text, text, text, text, text, text, text, "
    "timestamptz, timestamptz, timestamptz, json, json, json)"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {SIGNATURE} SET plan_cache_mode = force_custom_plan")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {SIGNATURE} RESET plan_cache_mode")
