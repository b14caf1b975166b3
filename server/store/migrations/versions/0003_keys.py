"""API keys (digests of their secrets only), their per-minute counts and their usage; the
key a batch was created with.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("models", Json, nullable=True),
        sa.Column("rpm", sa.Integer, nullable=True),
        sa.Column("tpm", sa.Integer, nullable=True),
        sa.Column("max_concurrent", sa.Integer, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_used_at", sa.Float, nullable=True),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_table(
        "key_rate_windows",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("window", sa.Integer, primary_key=True),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("tokens", sa.Integer, nullable=False),
    )
    op.create_table(
        "key_usage",
        sa.Column("key", sa.String(256), primary_key=True),
        sa.Column("model", sa.String(256), primary_key=True),
        sa.Column("date", sa.String(10), primary_key=True),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("input_tokens", sa.Integer, nullable=False),
        sa.Column("output_tokens", sa.Integer, nullable=False),
    )
    op.add_column("batches", sa.Column("api_key", sa.String(256), nullable=True))


def downgrade() -> None:
    op.drop_column("batches", "api_key")
    op.drop_table("key_usage")
    op.drop_table("key_rate_windows")
    op.drop_table("api_keys")
