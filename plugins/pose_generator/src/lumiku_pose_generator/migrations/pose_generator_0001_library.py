"""Pose Generator: the pose library (categories, poses) and users' pose requests, seeded.

The seed is ``lumiku_pose_generator.library_data`` as it is when this revision runs; it is
idempotent (``lumiku pose-generator seed`` runs the same code later to update the rows).

Revision ID: pose_generator_0001_library
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "pose_generator_0001_library"
down_revision = None
branch_labels = ("pose_generator",)
depends_on = "0001_users"  # pose requests belong to users

_OPEN = "status IN ('pending', 'approved', 'in_progress')"


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "pose_categories",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("parent_id", sa.String(64), sa.ForeignKey("pose_categories.id"), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("icon", sa.String(64), nullable=False),
        sa.Column("color", sa.String(7), nullable=False),
        sa.Column("display_order", sa.Integer, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        _when("created_at"),
        _when("updated_at"),
    )
    op.create_table(
        "pose_library",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column(
            "category_id", sa.String(64), sa.ForeignKey("pose_categories.id"), nullable=False
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("difficulty", sa.String(16), nullable=False),
        sa.Column("gender_suitability", sa.String(16), nullable=False),
        sa.Column("keypoints", sa.JSON, nullable=False),
        sa.Column("search_text", sa.String(1000), nullable=False),
        sa.Column("is_premium", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_featured", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_public", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("usage_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("generation_count", sa.Integer, nullable=False, server_default="0"),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint(
            "difficulty IN ('beginner', 'intermediate', 'advanced')",
            name="ck_pose_library_difficulty",
        ),
        sa.CheckConstraint(
            "gender_suitability IN ('unisex', 'male', 'female')", name="ck_pose_library_gender"
        ),
        sa.UniqueConstraint("category_id", "name", name="uq_pose_library_category_name"),
    )
    op.create_index("ix_pose_library_popular", "pose_library", ["usage_count", "id"])
    op.create_table(
        "pose_requests",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("pose_name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("category_id", sa.String(64), sa.ForeignKey("pose_categories.id"), nullable=True),
        sa.Column("use_case", sa.String(500), nullable=True),
        sa.Column("reference_image_url", sa.String(2048), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("admin_notes", sa.String(1000), nullable=True),
        sa.Column("reviewed_by", sa.String(36), nullable=True),
        _when("reviewed_at", nullable=True),
        sa.Column(
            "completed_pose_id", sa.String(120), sa.ForeignKey("pose_library.id"), nullable=True
        ),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'in_progress', 'completed', 'rejected')",
            name="ck_pose_requests_status",
        ),
    )
    op.create_index(
        "ix_pose_requests_user_created", "pose_requests", ["user_id", "created_at", "id"]
    )
    op.create_index(
        "ix_pose_requests_status_created", "pose_requests", ["status", "created_at", "id"]
    )
    op.create_index(
        "uq_pose_requests_open_name",
        "pose_requests",
        ["user_id", "name_key"],
        unique=True,
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    from lumiku_pose_generator.seed import seed_library

    seed_library(op.get_bind())


def downgrade() -> None:
    op.drop_table("pose_requests")
    op.drop_table("pose_library")
    op.drop_table("pose_categories")
