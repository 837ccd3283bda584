"""The plugin's tables, on its own ``MetaData``; the migrations in ``migrations/`` create them.

Users are the core's: ``user_id`` columns carry a foreign key to ``users.id`` in the
database (see the migrations) but not here, so this metadata never needs the core's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import sqlalchemy as sa

from lumiku import JOB_STATUSES, UTCDateTime, job_columns, job_constraints

metadata = sa.MetaData()

Record: TypeAlias = Mapping[Any, Any]
"""A row as the services pass it around: a result mapping, or the dict that was inserted."""

GENERATION_STATUSES = JOB_STATUSES
AVATAR_SOURCES = ("upload", "generated", "preset")
GENERATION_KINDS = ("prompt", "preset")
PRESET_CATEGORIES = ("professional", "casual", "sports", "fashion", "traditional")

ATTRIBUTE_COLUMNS = (
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
"""Visual attributes, one nullable column each, in the order the API lists them."""


def _when(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def trait_columns() -> list[sa.Column[Any]]:
    """Return fresh persona and visual-attribute columns (every table with traits has them)."""
    return [
        sa.Column("persona_name", sa.String(100), nullable=True),
        sa.Column("persona_age", sa.Integer, nullable=True),
        sa.Column("persona_personality", sa.JSON, nullable=True),
        sa.Column("persona_background", sa.String(500), nullable=True),
        *(sa.Column(name, sa.String(50), nullable=True) for name in ATTRIBUTE_COLUMNS),
    ]


avatar_projects = sa.Table(
    "avatar_projects",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    _when("created_at"),
    _when("updated_at"),
    sa.Index("ix_avatar_projects_user_created", "user_id", "created_at"),
)

avatars = sa.Table(
    "avatars",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("project_id", sa.String(36), sa.ForeignKey("avatar_projects.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("image_key", sa.String(200), nullable=False),
    sa.Column("thumbnail_key", sa.String(200), nullable=True),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    *trait_columns(),
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
    sa.Index("ix_avatars_user_created", "user_id", "created_at"),
    sa.Index("ix_avatars_project_created", "project_id", "created_at"),
)

avatar_presets = sa.Table(
    "avatar_presets",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    *trait_columns(),
    sa.Column("preview_key", sa.String(200), nullable=True),
    sa.Column("sort_order", sa.Integer, nullable=False),
    sa.Column("usage_count", sa.Integer, nullable=False, server_default="0"),
    _when("created_at"),
    sa.Index("ix_avatar_presets_category", "category", "sort_order"),
)

persona_examples = sa.Table(
    "persona_examples",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("title", sa.String(100), nullable=False),
    sa.Column("category", sa.String(32), nullable=False),
    *trait_columns(),
    sa.Column("sort_order", sa.Integer, nullable=False),
    _when("created_at"),
)

avatar_usage_history = sa.Table(
    "avatar_usage_history",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("avatar_id", sa.String(36), sa.ForeignKey("avatars.id"), nullable=False),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("app_id", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("reference_id", sa.String(255), nullable=True),
    _when("created_at"),
    sa.UniqueConstraint(
        "avatar_id", "app_id", "action", "reference_id", name="uq_avatar_usage_reference"
    ),
    sa.Index("ix_avatar_usage_avatar_created", "avatar_id", "created_at"),
)

avatar_generations = sa.Table(
    "avatar_generations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("project_id", sa.String(36), sa.ForeignKey("avatar_projects.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("prompt", sa.Text, nullable=False),
    sa.Column("preset_id", sa.String(64), nullable=True),
    *trait_columns(),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("avatar_id", sa.String(36), nullable=True),
    *job_columns(),
    *job_constraints("avatar_generations"),
    sa.CheckConstraint("kind IN ('prompt', 'preset')", name="ck_avatar_generations_kind"),
    sa.Index("ix_avatar_generations_user_created", "user_id", "created_at"),
    sa.Index("ix_avatar_generations_project", "project_id"),
)
"""A generation is a held job (``lumiku.heldjobs``) of one item: the avatar."""
