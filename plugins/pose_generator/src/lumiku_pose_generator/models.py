"""The plugin's tables, on its own ``MetaData``; the migrations in ``migrations/`` create them.

The library (``pose_categories``, ``pose_library``) and the users' requests for missing
poses (``pose_requests``). Users are the core's: ``user_id`` columns carry a foreign key to
``users.id`` in the database (see the migrations) but not here, so this metadata never
needs the core's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import sqlalchemy as sa

from lumiku import UTCDateTime

metadata = sa.MetaData()

Record: TypeAlias = Mapping[Any, Any]
"""A row as the services pass it around: a result mapping, or the dict that was inserted."""

DIFFICULTIES: Final = ("beginner", "intermediate", "advanced")
GENDERS: Final = ("unisex", "male", "female")
REQUEST_STATUSES: Final = ("pending", "approved", "in_progress", "completed", "rejected")
OPEN_REQUEST_STATUSES: Final = ("pending", "approved", "in_progress")
"""A user has at most one open request per (normalized) name."""


def _when(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


pose_categories = sa.Table(
    "pose_categories",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the slug
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

pose_library = sa.Table(
    "pose_library",
    metadata,
    sa.Column("id", sa.String(120), primary_key=True),  # "<category slug>.<name slug>"
    sa.Column("category_id", sa.String(64), sa.ForeignKey("pose_categories.id"), nullable=False),
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
    sa.CheckConstraint(_in("difficulty", DIFFICULTIES), name="ck_pose_library_difficulty"),
    sa.CheckConstraint(_in("gender_suitability", GENDERS), name="ck_pose_library_gender"),
    sa.UniqueConstraint("category_id", "name", name="uq_pose_library_category_name"),
    sa.Index("ix_pose_library_popular", "usage_count", "id"),
)

pose_requests = sa.Table(
    "pose_requests",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("pose_name", sa.String(100), nullable=False),
    sa.Column("name_key", sa.String(100), nullable=False),  # casefolded, spaces collapsed
    sa.Column("description", sa.String(500), nullable=False),
    sa.Column("category_id", sa.String(64), sa.ForeignKey("pose_categories.id"), nullable=True),
    sa.Column("use_case", sa.String(500), nullable=True),
    sa.Column("reference_image_url", sa.String(2048), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("admin_notes", sa.String(1000), nullable=True),
    sa.Column("reviewed_by", sa.String(36), nullable=True),
    _when("reviewed_at", nullable=True),
    sa.Column("completed_pose_id", sa.String(120), sa.ForeignKey("pose_library.id"), nullable=True),
    _when("created_at"),
    _when("updated_at"),
    sa.CheckConstraint(_in("status", REQUEST_STATUSES), name="ck_pose_requests_status"),
    sa.Index("ix_pose_requests_user_created", "user_id", "created_at", "id"),
    sa.Index("ix_pose_requests_status_created", "status", "created_at", "id"),
    sa.Index(
        "uq_pose_requests_open_name",
        "user_id",
        "name_key",
        unique=True,
        sqlite_where=sa.text(_in("status", OPEN_REQUEST_STATUSES)),
        postgresql_where=sa.text(_in("status", OPEN_REQUEST_STATUSES)),
    ),
)
