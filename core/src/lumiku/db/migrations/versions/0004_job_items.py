"""Core: the finished items of held jobs (``lumiku.heldjobs``).

Revision ID: 0004_job_items
Revises: 0003_attempts_refunds
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_job_items"
down_revision = "0003_attempts_refunds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_items",
        sa.Column("job_table", sa.String(64), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("item", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.String(500), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('completed', 'failed')", name="ck_job_items_status"),
        sa.PrimaryKeyConstraint("job_table", "job_id", "item", name="pk_job_items"),
    )


def downgrade() -> None:
    op.drop_table("job_items")
