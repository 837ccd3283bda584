"""Load the library's seed into the database: idempotent, counters untouched.

Used by the migration ``pose_generator_0001_library`` and by ``lumiku pose-generator seed``. The
tables are addressed through lightweight ``sa.table`` clauses naming only the columns the
first revision creates, so a later revision adding columns never breaks this one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku_pose_generator.library_data import CATEGORIES, POSES, CategorySeed, PoseSeed

_categories = sa.table(
    "pose_categories",
    *(
        sa.column(name)
        for name in ("id", "slug", "parent_id", "name", "description", "icon", "color")
    ),
    sa.column("display_order"),
    sa.column("is_active"),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_poses = sa.table(
    "pose_library",
    *(sa.column(name) for name in ("id", "category_id", "name", "description")),
    sa.column("tags", sa.JSON()),
    sa.column("keypoints", sa.JSON()),
    *(sa.column(name) for name in ("difficulty", "gender_suitability", "search_text")),
    *(sa.column(name) for name in ("is_premium", "is_featured", "is_public")),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)


@attrs.frozen
class SeedReport:
    """What a seeding did: rows inserted and rows whose seeded fields were updated."""

    categories_added: int
    categories_updated: int
    poses_added: int
    poses_updated: int


def search_text(name: str, tags: tuple[str, ...]) -> str:
    """Return the text ``GET /library?search=`` matches: name and tags, casefolded."""
    return " | ".join((name, *tags)).casefold()


def category_row(seed: CategorySeed) -> dict[str, Any]:
    """Return the seeded columns of a category."""
    return {
        "id": seed.slug,
        "slug": seed.slug,
        "parent_id": seed.parent,
        "name": seed.name,
        "description": seed.description,
        "icon": seed.icon,
        "color": seed.color,
        "display_order": seed.order,
        "is_active": True,
    }


def pose_row(seed: PoseSeed) -> dict[str, Any]:
    """Return the seeded columns of a pose (not its counters)."""
    return {
        "id": seed.id,
        "category_id": seed.category,
        "name": seed.name,
        "description": seed.description,
        "tags": list(seed.tags),
        "keypoints": [list(point) for point in seed.keypoints()],
        "difficulty": seed.difficulty,
        "gender_suitability": seed.gender,
        "search_text": search_text(seed.name, seed.tags),
        "is_premium": seed.premium,
        "is_featured": seed.featured,
        "is_public": True,
    }


def _upsert(
    connection: sa.Connection, table: sa.TableClause, rows: list[dict[str, Any]], now: datetime
) -> tuple[int, int]:
    """Insert missing rows, update rows whose seeded fields differ; return the counts."""
    column = table.c.id
    existing = {
        row["id"]: row
        for row in connection.execute(
            sa.select(*(table.c[name] for name in rows[0])).where(
                column.in_([row["id"] for row in rows])
            )
        ).mappings()
    }
    added = updated = 0
    for row in rows:
        found = existing.get(row["id"])
        if found is None:
            connection.execute(sa.insert(table).values(**row, created_at=now, updated_at=now))
            added += 1
        elif any(found[name] != value for name, value in row.items()):
            connection.execute(
                sa.update(table).where(column == row["id"]).values(**row, updated_at=now)
            )
            updated += 1
    return added, updated


def seed_library(connection: sa.Connection, now: datetime | None = None) -> SeedReport:
    """Insert or update the 28 categories and the library's poses in ``connection``'s
    transaction; rows the seed does not name, and every counter, are left as they are."""
    when = now or datetime.now(UTC)
    roots = [c for c in CATEGORIES if c.parent is None]
    children = [c for c in CATEGORIES if c.parent is not None]
    cat_added, cat_updated = _upsert(
        connection, _categories, [category_row(c) for c in (*roots, *children)], when
    )
    pose_added = pose_updated = 0
    if POSES:
        pose_added, pose_updated = _upsert(connection, _poses, [pose_row(p) for p in POSES], when)
    return SeedReport(cat_added, cat_updated, pose_added, pose_updated)
