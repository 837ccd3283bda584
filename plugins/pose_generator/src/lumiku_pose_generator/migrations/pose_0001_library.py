"""Pose Generator: the pose library (placeholder until the pose-lib branch lands).

The pose-lib branch owns this revision (categories, the 84 seeded poses, requests); this
stand-in creates only the columns the generations read, so that ``pose_0002`` can follow
it. A merge takes the pose-lib branch's file.

Revision ID: pose_0001_library
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "pose_0001_library"
down_revision = None
branch_labels = ("pose_generator",)
depends_on = "0001_users"


def upgrade() -> None:
    op.create_table(
        "pose_categories",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "pose_library",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("category_id", sa.String(36), sa.ForeignKey("pose_categories.id")),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("keypoints", sa.JSON, nullable=False),
    )
    op.create_table(
        "pose_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("pose_name", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pose_requests")
    op.drop_table("pose_library")
    op.drop_table("pose_categories")
