"""Avatar Creator: projects, avatars, presets, persona examples, usage history, generations.

Revision ID: ac0001_tables
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ac0001_tables"
down_revision = None
branch_labels = ("avatar_creator",)
depends_on = "0001_users"

_ATTRIBUTES = (
    "gender",
    "age_range",
    "ethnicity",
    "body_type",
    "hair_style",
    "hair_color",
    "eye_color",
    "skin_tone",
    "style",
)


def _traits() -> list[sa.Column[object]]:
    return [
        sa.Column("persona_name", sa.String(100), nullable=True),
        sa.Column("persona_age", sa.Integer, nullable=True),
        sa.Column("persona_personality", sa.JSON, nullable=True),
        sa.Column("persona_background", sa.String(500), nullable=True),
        *(sa.Column(name, sa.String(50), nullable=True) for name in _ATTRIBUTES),
    ]


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user() -> sa.Column[object]:
    return sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "avatar_projects",
        sa.Column("id", sa.String(36), primary_key=True),
        _user(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        _when("created_at"),
        _when("updated_at"),
    )
    op.create_index("ix_avatar_projects_user_created", "avatar_projects", ["user_id", "created_at"])
    op.create_table(
        "avatars",
        sa.Column("id", sa.String(36), primary_key=True),
        _user(),
        sa.Column("project_id", sa.String(36), sa.ForeignKey("avatar_projects.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("image_key", sa.String(200), nullable=False),
        sa.Column("thumbnail_key", sa.String(200), nullable=True),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        *_traits(),
        sa.Column("prompt", sa.Text, nullable=True),
        sa.Column("seed", sa.BigInteger, nullable=True),
        sa.Column("preset_id", sa.String(64), nullable=True),
        sa.Column("generation_id", sa.String(36), nullable=True),
        sa.Column("usage_count", sa.Integer, nullable=False, server_default="0"),
        _when("last_used_at", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint("source IN ('upload', 'generated', 'preset')", name="ck_avatars_source"),
        sa.UniqueConstraint("generation_id", name="uq_avatars_generation_id"),
    )
    op.create_index("ix_avatars_user_created", "avatars", ["user_id", "created_at"])
    op.create_index("ix_avatars_project_created", "avatars", ["project_id", "created_at"])
    op.create_table(
        "avatar_presets",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        *_traits(),
        sa.Column("preview_key", sa.String(200), nullable=True),
        sa.Column("sort_order", sa.Integer, nullable=False),
        sa.Column("usage_count", sa.Integer, nullable=False, server_default="0"),
        _when("created_at"),
    )
    op.create_index("ix_avatar_presets_category", "avatar_presets", ["category", "sort_order"])
    op.create_table(
        "persona_examples",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        *_traits(),
        sa.Column("sort_order", sa.Integer, nullable=False),
        _when("created_at"),
    )
    op.create_table(
        "avatar_usage_history",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("avatar_id", sa.String(36), sa.ForeignKey("avatars.id"), nullable=False),
        _user(),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("reference_id", sa.String(255), nullable=True),
        _when("created_at"),
        sa.UniqueConstraint(
            "avatar_id", "app_id", "action", "reference_id", name="uq_avatar_usage_reference"
        ),
    )
    op.create_index(
        "ix_avatar_usage_avatar_created", "avatar_usage_history", ["avatar_id", "created_at"]
    )
    op.create_table(
        "avatar_generations",
        sa.Column("id", sa.String(36), primary_key=True),
        _user(),
        sa.Column("project_id", sa.String(36), sa.ForeignKey("avatar_projects.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("preset_id", sa.String(64), nullable=True),
        *_traits(),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cost", sa.Integer, nullable=False),
        sa.Column("hold_id", sa.String(36), nullable=True),
        sa.Column("avatar_id", sa.String(36), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.String(500), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claim_id", sa.String(32), nullable=True),
        _when("claimed_until", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _when("started_at", nullable=True),
        _when("completed_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'completed', 'failed')",
            name="ck_avatar_generations_status",
        ),
        sa.CheckConstraint("kind IN ('prompt', 'preset')", name="ck_avatar_generations_kind"),
    )
    op.create_index(
        "ix_avatar_generations_user_created", "avatar_generations", ["user_id", "created_at"]
    )
    op.create_index("ix_avatar_generations_project", "avatar_generations", ["project_id"])


def downgrade() -> None:
    op.drop_table("avatar_generations")
    op.drop_table("avatar_usage_history")
    op.drop_table("persona_examples")
    op.drop_table("avatar_presets")
    op.drop_table("avatars")
    op.drop_table("avatar_projects")
