"""The tables of projects and generations, on their own ``MetaData``.

``pose_generator_projects`` (a user's avatar, uploaded or from Avatar Creator),
``pose_generations`` (a held job of the core kit: one item per pose to render),
``pose_selections`` (the library poses a gallery generation asked for, in order) and
``generated_poses`` (one row per rendered pose, unique per generation and variation key).
The migration ``pose_generator_0002_generations`` creates them. Users are the core's: ``user_id``
carries a foreign key to ``users.id`` in the database, not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import sqlalchemy as sa

from lumiku import UTCDateTime, job_columns, job_constraints

metadata = sa.MetaData()

Record: TypeAlias = Mapping[Any, Any]
"""A row as the services pass it around."""

AVATAR_SOURCES = ("AVATAR_CREATOR", "UPLOAD")
PROJECT_STATUSES = ("active", "archived")
GENERATION_TYPES = ("GALLERY_REFERENCE", "TEXT_DESCRIPTION", "BACKGROUND_CHANGE")
BACKGROUND_MODES = ("solid_color", "upload", "ai_generate")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


projects = sa.Table(
    "pose_generator_projects",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("project_name", sa.String(100), nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    sa.Column("avatar_source", sa.String(16), nullable=False),
    sa.Column("avatar_id", sa.String(36), nullable=True),
    sa.Column("avatar_image_key", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="active"),
    sa.Column("total_generations", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_poses", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(
        f"avatar_source IN ({_quoted(AVATAR_SOURCES)})", name="ck_pose_projects_source"
    ),
    sa.CheckConstraint(f"status IN ({_quoted(PROJECT_STATUSES)})", name="ck_pose_projects_status"),
    sa.Index("ix_pose_projects_user_created", "user_id", "created_at"),
)
"""``avatar_image_key``: the storage key of the avatar's image (of the Avatar Creator's
folder, or the key an uploaded image's signed URL named), read when a generation starts."""

generations = sa.Table(
    "pose_generations",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column(
        "project_id", sa.String(36), sa.ForeignKey("pose_generator_projects.id"), nullable=False
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
    *job_constraints("pose_generations"),
    sa.CheckConstraint(
        f"generation_type IN ({_quoted(GENERATION_TYPES)})", name="ck_pose_generations_type"
    ),
    sa.Index("ix_pose_generations_user_created", "user_id", "created_at"),
    sa.Index("ix_pose_generations_project", "project_id"),
)
"""A generation is a held job: one item per pose (``<poseId>:<n>`` in gallery mode,
``text:<n>`` in text mode), or one item (``background``) for a background change of one
result (``source_pose_id``), so the kit's claims, capture, release and recovery cover both."""

selections = sa.Table(
    "pose_selections",
    metadata,
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

generated_poses = sa.Table(
    "generated_poses",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column(
        "generation_id",
        sa.String(36),
        sa.ForeignKey("pose_generations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("user_id", sa.String(36), nullable=False),
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
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.UniqueConstraint("generation_id", "variation_key", name="uq_generated_poses_variation"),
    sa.Index("ix_generated_poses_user", "user_id", "created_at"),
)
"""``export_keys``: ``{format: storage key}`` of the exports made so far."""
