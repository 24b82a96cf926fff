"""Hardening: one-time set-up codes, server-side web sessions, per-integration rate limits.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:10:00

- ``setup_codes``: hashes of the codes ``/setup`` requires while no API token exists, so a
  fresh server cannot be claimed by whoever reaches it first.
- ``web_sessions``: a web UI sign-in is a row, so logging out or revoking the token ends
  it even for a copied cookie.
- ``integrations.rate_limit_per_minute``: NULL takes the server-wide default.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "setup_codes",
        sa.Column("id", BigId, nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=128), nullable=False),
        sa.Column("token_id", BigId, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_web_sessions_token_id", "web_sessions", ["token_id"])
    with op.batch_alter_table("integrations") as batch:
        batch.add_column(sa.Column("rate_limit_per_minute", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("integrations") as batch:
        batch.drop_column("rate_limit_per_minute")
    op.drop_index("ix_web_sessions_token_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("setup_codes")
