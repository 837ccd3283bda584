"""Projects: a user's folders of avatars. Another user's project is always "not found".

Deleting a project removes its avatars, generations, usage history and files. Generations
still open are failed first through the held-jobs kit (so a worker finishing one cannot
complete it in a deleted project) and their credit holds are released. The delete locks
the project row before anything else (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serializes writers anyway): a generation or upload inserted
concurrently checks its foreign key against that row, so it waits for the delete and then
fails (404, its hold released or its charge refunded) instead of landing with a hold
nobody releases.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from lumiku import HeldJobs, Page, PageQuery, PluginContext, fetch_page, newest_first
from lumiku_avatar_creator.errors import ProjectNotFound
from lumiku_avatar_creator.files import FileCleanup
from lumiku_avatar_creator.models import (
    Record,
    avatar_generations,
    avatar_projects,
    avatar_usage_history,
    avatars,
)

AVATARS_PER_PROJECT = 12
"""How many of its newest avatars a project carries in lists; GET /avatars pages the rest."""

# Built once (lists run them on every request): each project's newest avatars, and counts.
_IDS: sa.BindParameter[list[str]] = sa.bindparam("project_ids", expanding=True)
_RANKED = (
    sa.select(
        avatars,
        sa.func.row_number()
        .over(
            partition_by=avatars.c.project_id,
            order_by=(avatars.c.created_at.desc(), avatars.c.id.desc()),
        )
        .label("rank"),
    )
    .where(avatars.c.project_id.in_(_IDS))
    .subquery()
)
_NEWEST = (
    sa.select(_RANKED)
    .where(_RANKED.c.rank <= sa.bindparam("per_project"))
    .order_by(_RANKED.c.created_at.desc(), _RANKED.c.id.desc())
)
_COUNTS = (
    sa.select(avatars.c.project_id, sa.func.count())
    .where(avatars.c.project_id.in_(_IDS))
    .group_by(avatars.c.project_id)
)


def find_project(
    connection: sa.Connection, user_id: str, project_id: str, *, lock: bool = False
) -> Record:
    """Return the caller's project row, or raise ``ProjectNotFound``.

    With ``lock`` the row is locked until the transaction ends (``FOR UPDATE``; a no-op on
    SQLite, whose write transactions are serialized already).
    """
    query = sa.select(avatar_projects).where(
        avatar_projects.c.id == project_id, avatar_projects.c.user_id == user_id
    )
    if lock:
        query = query.with_for_update()
    row = connection.execute(query).mappings().first()
    if row is None:
        raise ProjectNotFound(project_id)
    return row


class Projects:
    """Create, list, read, rename and delete a user's projects."""

    def __init__(self, ctx: PluginContext, jobs: HeldJobs, files: FileCleanup) -> None:
        self._engine = ctx.engine
        self._jobs = jobs
        self._files = files

    def create(self, user_id: str, name: str, description: str | None) -> Record:
        """Create a project and return its row."""
        now = datetime.now(UTC)
        values = {
            "id": str(uuid.uuid4()),
            "user_id": user_id,
            "name": name.strip(),
            "description": description,
            "created_at": now,
            "updated_at": now,
        }
        with self._engine.begin() as connection:
            connection.execute(sa.insert(avatar_projects).values(values))
        return values

    def get(self, user_id: str, project_id: str) -> Record:
        """Return the caller's project row, or raise ``ProjectNotFound``."""
        with self._engine.connect() as connection:
            return find_project(connection, user_id, project_id)

    def page(self, user_id: str, page: PageQuery) -> Page[Record]:
        """Return a page of the caller's projects, newest first."""
        table = avatar_projects.c
        query = sa.select(avatar_projects).where(table.user_id == user_id)
        with self._engine.connect() as connection:
            return fetch_page(connection, query, page, newest_first(table.created_at, table.id))

    def newest_avatars(
        self, project_ids: Sequence[str], per_project: int = AVATARS_PER_PROJECT
    ) -> tuple[dict[str, list[Record]], dict[str, int]]:
        """Return each project's newest avatars and its avatar count."""
        if not project_ids:
            return {}, {}
        params = {"project_ids": list(project_ids), "per_project": per_project}
        grouped: dict[str, list[Record]] = {pid: [] for pid in project_ids}
        with self._engine.connect() as connection:
            for row in connection.execute(_NEWEST, params).mappings():
                grouped[row["project_id"]].append(row)
            totals = {str(pid): int(n) for pid, n in connection.execute(_COUNTS, params)}
        return grouped, {pid: int(totals.get(pid, 0)) for pid in project_ids}

    def update(
        self, user_id: str, project_id: str, name: str | None, description: str | None
    ) -> Record:
        """Change the name and/or description (``""`` clears the description)."""
        changes: dict[str, Any] = {"updated_at": datetime.now(UTC)}
        if name is not None:
            changes["name"] = name.strip()
        if description is not None:
            changes["description"] = description or None
        with self._engine.begin() as connection:
            find_project(connection, user_id, project_id)
            connection.execute(
                sa.update(avatar_projects).where(avatar_projects.c.id == project_id).values(changes)
            )
            return find_project(connection, user_id, project_id)

    def delete(self, user_id: str, project_id: str) -> None:
        """Delete the project with its avatars, generations, usage history and files."""
        with self._engine.begin() as connection:
            find_project(connection, user_id, project_id, lock=True)
            failed = self._jobs.fail_open(
                connection,
                avatar_generations.c.project_id == project_id,
                code="PROJECT_DELETED",
                message="The project was deleted before the generation finished.",
            )
            keys = self._delete_rows(connection, project_id)
        self._jobs.settle_failed(failed)
        self._files.delete(keys)

    def _delete_rows(self, connection: sa.Connection, project_id: str) -> list[str]:
        """Delete the project's rows; return the keys of its avatars' files."""
        project_avatars = sa.select(avatars.c.id).where(avatars.c.project_id == project_id)
        keys = [
            key
            for row in connection.execute(
                sa.select(avatars.c.image_key, avatars.c.thumbnail_key).where(
                    avatars.c.project_id == project_id
                )
            )
            for key in row
            if key
        ]
        connection.execute(
            sa.delete(avatar_usage_history).where(
                avatar_usage_history.c.avatar_id.in_(project_avatars)
            )
        )
        connection.execute(sa.delete(avatars).where(avatars.c.project_id == project_id))
        generations = sa.select(avatar_generations.c.id).where(
            avatar_generations.c.project_id == project_id
        )
        self._jobs.delete_items(connection, list(connection.execute(generations).scalars()))
        connection.execute(
            sa.delete(avatar_generations).where(avatar_generations.c.project_id == project_id)
        )
        connection.execute(sa.delete(avatar_projects).where(avatar_projects.c.id == project_id))
        return keys
