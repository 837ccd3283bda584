"""Reading the pose library: filtered pages (most popular first), one pose, the tree.

Filters: ``category`` by slug (a root takes its children's poses too), ``difficulty``,
``gender`` (``male`` or ``female`` also takes ``unisex`` poses; ``unisex`` only those),
``featured`` (the featured flag) and ``search``, a case-insensitive substring of the name
or a tag in which ``%``, ``_`` and ``\\`` are literal. Only public poses are listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import attrs
import sqlalchemy as sa

from lumiku import NotFound, Page, PageQuery, fetch_page, field, newest_first
from lumiku_pose_generator.library_data import CATEGORIES
from lumiku_pose_generator.models import (
    DIFFICULTIES,
    GENDERS,
    Record,
    pose_categories,
    pose_library,
)

CATEGORY_SLUGS: Final = tuple(c.slug for c in CATEGORIES)
MAX_SEARCH: Final = 100


@attrs.frozen
class LibraryQuery(PageQuery):
    """Paging and filters of ``GET /library``; every filter is optional."""

    category: str | None = field(default=None, choices=CATEGORY_SLUGS)
    difficulty: str | None = field(default=None, choices=DIFFICULTIES)
    gender: str | None = field(default=None, choices=GENDERS)
    featured: bool | None = None
    search: str | None = field(default=None, min_length=1, max_length=MAX_SEARCH, strip=True)


def escape_like(text: str) -> str:
    """Return ``text`` with ``\\``, ``%`` and ``_`` escaped for ``LIKE ... ESCAPE '\\'``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def category_ids(slug: str) -> list[str]:
    """Return the category ``slug`` and, for a root, its children."""
    return [c.slug for c in CATEGORIES if slug in (c.slug, c.parent)]


def _filters(query: LibraryQuery) -> list[sa.ColumnElement[bool]]:
    table = pose_library.c
    where: list[sa.ColumnElement[bool]] = [table.is_public.is_(True)]
    if query.category is not None:
        where.append(table.category_id.in_(category_ids(query.category)))
    if query.difficulty is not None:
        where.append(table.difficulty == query.difficulty)
    if query.gender is not None:
        genders = {query.gender, "unisex"}
        where.append(table.gender_suitability.in_(sorted(genders)))
    if query.featured is not None:
        where.append(table.is_featured.is_(query.featured))
    if query.search:
        pattern = f"%{escape_like(query.search.casefold())}%"
        where.append(table.search_text.like(pattern, escape="\\"))
    return where


def library_page(connection: sa.Connection, query: LibraryQuery) -> tuple[Page[Record], int]:
    """Return one page of matching poses, most used first (ties by id), and the number of
    poses that match in all. Raise ``InvalidCursor`` (400) for a forged cursor."""
    where = _filters(query)
    ordering = newest_first(pose_library.c.usage_count, pose_library.c.id)
    page = fetch_page(connection, sa.select(pose_library).where(*where), query, ordering)
    total = connection.execute(
        sa.select(sa.func.count()).select_from(pose_library).where(*where)
    ).scalar_one()
    return page, int(total)


def use_pose(engine: sa.Engine, pose_id: str) -> Record:
    """Count one use of the public pose ``pose_id`` and return it; ``NotFound`` if none."""
    table = pose_library.c
    with engine.begin() as connection:
        counted = connection.execute(
            sa.update(pose_library)
            .where(table.id == pose_id, table.is_public.is_(True))
            .values(usage_count=table.usage_count + 1)
        ).rowcount
        if not counted:
            raise NotFound("No such pose in the library.", details={"poseId": pose_id})
        return (
            connection.execute(sa.select(pose_library).where(table.id == pose_id)).mappings().one()
        )


def find_pose(connection: sa.Connection, pose_id: str) -> Record | None:
    """Return the public pose ``pose_id`` without counting a use, or ``None``."""
    table = pose_library.c
    return (
        connection.execute(
            sa.select(pose_library).where(table.id == pose_id, table.is_public.is_(True))
        )
        .mappings()
        .one_or_none()
    )


def find_poses(connection: sa.Connection, pose_ids: Sequence[str]) -> dict[str, Record]:
    """Return the public poses among ``pose_ids``, by id (for generation requests)."""
    table = pose_library.c
    rows = connection.execute(
        sa.select(pose_library).where(table.id.in_(list(pose_ids)), table.is_public.is_(True))
    ).mappings()
    return {row["id"]: row for row in rows}


def category_rows(connection: sa.Connection) -> tuple[list[Record], dict[str, int]]:
    """Return the active categories in display order and the public poses of each."""
    categories: list[Record] = list(
        connection.execute(
            sa.select(pose_categories)
            .where(pose_categories.c.is_active.is_(True))
            .order_by(pose_categories.c.display_order, pose_categories.c.id)
        ).mappings()
    )
    counts: dict[str, Any] = dict(
        connection.execute(
            sa.select(pose_library.c.category_id, sa.func.count())
            .where(pose_library.c.is_public.is_(True))
            .group_by(pose_library.c.category_id)
        ).all()
    )
    return categories, {key: int(value) for key, value in counts.items()}
