"""Pose Generator: projects, generations (held jobs), selections and generated poses.

Revision ID: pose_generator_0002_generations
Revises: pose_generator_0001_library
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lumiku import UTCDateTime, job_columns, job_constraints

revision = "pose_generator_0002_generations"
down_revision = "pose_generator_0001_library"
branch_labels = None
depends_on = None

_SOURCES = "avatar_source IN ('AVATAR_CREATOR', 'UPLOAD')"
_PROJECT_STATUSES = "status IN ('active', 'archived')"
_TYPES = "generation_type IN ('GALLERY_REFERENCE', 'TEXT_DESCRIPTION', 'BACKGROUND_CHANGE')"


def _user() -> sa.Column[str]:
    return sa.Column(
        "user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )


def _times() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "pose_generator_projects",
        sa.Column("id", sa.String(36), primary_key=True),
        _user(),
        sa.Column("project_name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.Column("avatar_source", sa.String(16), nullable=False),
        sa.Column("avatar_id", sa.String(36), nullable=True),
        sa.Column("avatar_image_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("total_generations", sa.Integer, nullable=False, server_default="0"),
        sa.Column("total_poses", sa.Integer, nullable=False, server_default="0"),
        *_times(),
        sa.CheckConstraint(_SOURCES, name="ck_pose_projects_source"),
        sa.CheckConstraint(_PROJECT_STATUSES, name="ck_pose_projects_status"),
    )
    op.create_index(
        "ix_pose_projects_user_created", "pose_generator_projects", ["user_id", "created_at"]
    )
    op.create_table(
        "pose_generations",
        sa.Column("id", sa.String(36), primary_key=True),
        _user(),
        sa.Column(
            "project_id",
            sa.String(36),
            sa.ForeignKey("pose_generator_projects.id"),
            nullable=False,
        ),
        sa.Column("generation_type", sa.String(24), nullable=False),
        sa.Column("text_prompt", sa.String(500), nullable=True),
        sa.Column("pose_ids", sa.JSON, nullable=False),
        sa.Column("batch_size", sa.Integer, nullable=False, server_default="1"),
        sa.Column("variation_count", sa.Integer, nullable=True),
        sa.Column("avatar_id", sa.String(36), nullable=True),
        sa.Column("avatar_image_key", sa.String(200), nullable=False),
        sa.Column("use_background_changer", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("background_mode", sa.String(16), nullable=True),
        sa.Column("background_color", sa.String(7), nullable=True),
        sa.Column("background_image_key", sa.String(200), nullable=True),
        sa.Column("background_prompt", sa.String(300), nullable=True),
        sa.Column("source_pose_id", sa.String(36), nullable=True),
        sa.Column("output_formats", sa.JSON, nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        *job_columns(),
        *[c for c in job_constraints("pose_generations") if not isinstance(c, sa.Index)],
        sa.CheckConstraint(_TYPES, name="ck_pose_generations_type"),
    )
    op.create_index(
        "ix_pose_generations_status_updated", "pose_generations", ["status", "updated_at"]
    )
    op.create_index(
        "ix_pose_generations_user_created", "pose_generations", ["user_id", "created_at"]
    )
    op.create_index("ix_pose_generations_project", "pose_generations", ["project_id"])
    op.create_table(
        "pose_selections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "generation_id",
            sa.String(36),
            sa.ForeignKey("pose_generations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("pose_id", sa.String(120), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("generation_id", "position", name="uq_pose_selections_position"),
    )
    op.create_table(
        "generated_poses",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "generation_id",
            sa.String(36),
            sa.ForeignKey("pose_generations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _user(),
        sa.Column("project_id", sa.String(36), nullable=False),
        sa.Column("pose_library_id", sa.String(120), nullable=True),
        sa.Column("variation_key", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("image_key", sa.String(200), nullable=False),
        sa.Column("thumbnail_key", sa.String(200), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("background_changed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("background_mode", sa.String(16), nullable=True),
        sa.Column("export_keys", sa.JSON, nullable=False),
        *_times(),
        sa.UniqueConstraint("generation_id", "variation_key", name="uq_generated_poses_variation"),
    )
    op.create_index("ix_generated_poses_user", "generated_poses", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_table("generated_poses")
    op.drop_table("pose_selections")
    op.drop_table("pose_generations")
    op.drop_table("pose_generator_projects")
