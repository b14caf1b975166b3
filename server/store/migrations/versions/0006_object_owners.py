"""The key that created each stored response and file (batches already record theirs).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: rows created before (or without) keys have no owner.
    op.add_column("responses", sa.Column("api_key", sa.String(256), nullable=True))
    op.add_column("files", sa.Column("api_key", sa.String(256), nullable=True))
    op.create_index("ix_files_api_key", "files", ["api_key"])
    op.create_index("ix_batches_api_key", "batches", ["api_key"])


def downgrade() -> None:
    op.drop_index("ix_batches_api_key", table_name="batches")
    op.drop_index("ix_files_api_key", table_name="files")
    op.drop_column("files", "api_key")
    op.drop_column("responses", "api_key")
