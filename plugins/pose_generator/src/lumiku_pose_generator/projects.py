"""Projects: a name, a description and the avatar the project's generations pose.

Delete is refused (409) while a generation of the project is pending or processing; a
generation submitted while the delete runs makes the delete fail on its foreign key, which
is answered the same way. Deleting removes the project's generations, poses and files.
"""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku import (
    OPEN_JOB_STATUSES,
    HeldJobs,
    Page,
    PageQuery,
    PluginContext,
    fetch_page,
    newest_first,
)
from lumiku_pose_generator.avatars import AvatarChoice, choose_avatar
from lumiku_pose_generator.errors import ProjectBusy, ProjectNotFound
from lumiku_pose_generator.tables import Record, generated_poses, generations, projects


@attrs.frozen
class ProjectChanges:
    """What an update changes (``None``: unchanged)."""

    project_name: str | None = None
    description: str | None = None
    status: str | None = None
    avatar_source: str | None = None
    avatar_id: str | None = None
    avatar_image_url: str | None = None


def find_project(connection: sa.Connection, user_id: str, project_id: str) -> Record:
    """Return the caller's project or raise ``ProjectNotFound``."""
    row = (
        connection.execute(
            sa.select(projects).where(projects.c.id == project_id, projects.c.user_id == user_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ProjectNotFound(project_id)
    return row


class Projects:
    """Create, read, change and delete projects."""

    def __init__(self, ctx: PluginContext, jobs: HeldJobs) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._jobs = jobs

    def create(
        self,
        user_id: str,
        *,
        project_name: str,
        description: str | None,
        avatar_source: str,
        avatar_id: str | None,
        avatar_image_url: str | None,
    ) -> Record:
        """Check the avatar and insert the project; return its row."""
        avatar = choose_avatar(self._ctx, user_id, avatar_source, avatar_id, avatar_image_url)
        now = self._ctx.clock()
        row: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "user_id": user_id,
            "project_name": project_name.strip(),
            "description": description,
            "avatar_source": avatar.source,
            "avatar_id": avatar.avatar_id,
            "avatar_image_key": avatar.image_key,
            "status": "active",
            "total_generations": 0,
            "total_poses": 0,
            "created_at": now,
            "updated_at": now,
        }
        with self._engine.begin() as connection:
            connection.execute(sa.insert(projects).values(row))
        return row

    def get(self, user_id: str, project_id: str) -> Record:
        """Return the caller's project."""
        with self._engine.connect() as connection:
            return find_project(connection, user_id, project_id)

    def pose_counts(self, project_ids: list[str]) -> dict[str, int]:
        """Return how many poses each project has (counted, so workers never update the
        project's row)."""
        if not project_ids:
            return {}
        p = generated_poses.c
        with self._engine.connect() as connection:
            rows = connection.execute(
                sa.select(p.project_id, sa.func.count())
                .where(p.project_id.in_(project_ids))
                .group_by(p.project_id)
            ).all()
        counts = dict.fromkeys(project_ids, 0)
        counts.update({project_id: int(count) for project_id, count in rows})
        return counts

    def page(self, user_id: str, page: PageQuery) -> Page[Record]:
        """Return a page of the caller's projects, newest first."""
        query = sa.select(projects).where(projects.c.user_id == user_id)
        with self._engine.connect() as connection:
            return fetch_page(
                connection, query, page, newest_first(projects.c.created_at, projects.c.id)
            )

    def update(self, user_id: str, project_id: str, changes: ProjectChanges) -> Record:
        """Apply ``changes``; a new avatar is checked like at creation."""
        current = self.get(user_id, project_id)
        values: dict[str, Any] = {
            name: value
            for name, value in (
                ("project_name", changes.project_name and changes.project_name.strip()),
                ("description", changes.description),
                ("status", changes.status),
            )
            if value is not None
        }
        if changes.avatar_source is not None or changes.avatar_id or changes.avatar_image_url:
            avatar: AvatarChoice = choose_avatar(
                self._ctx,
                user_id,
                changes.avatar_source or current["avatar_source"],
                changes.avatar_id,
                changes.avatar_image_url,
            )
            values |= {
                "avatar_source": avatar.source,
                "avatar_id": avatar.avatar_id,
                "avatar_image_key": avatar.image_key,
            }
        values["updated_at"] = self._ctx.clock()
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(projects)
                .where(projects.c.id == project_id, projects.c.user_id == user_id)
                .values(values)
            )
            return find_project(connection, user_id, project_id)

    def delete(self, user_id: str, project_id: str) -> None:
        """Delete the project with its generations, poses and files; 409 while one runs."""
        g = generations.c
        try:
            with self._engine.begin() as connection:
                find_project(connection, user_id, project_id)
                running = connection.execute(
                    sa.select(sa.func.count())
                    .select_from(generations)
                    .where(g.project_id == project_id, g.status.in_(OPEN_JOB_STATUSES))
                ).scalar_one()
                if running:
                    raise _busy(project_id)
                ids = list(
                    connection.execute(sa.select(g.id).where(g.project_id == project_id)).scalars()
                )
                keys = self._file_keys(connection, ids)
                self._jobs.delete_items(connection, ids)
                if ids:
                    connection.execute(
                        sa.delete(generated_poses).where(generated_poses.c.generation_id.in_(ids))
                    )
                    connection.execute(sa.delete(generations).where(g.id.in_(ids)))
                connection.execute(sa.delete(projects).where(projects.c.id == project_id))
        except sa.exc.IntegrityError:
            raise _busy(project_id) from None  # a generation was submitted meanwhile
        for key in keys:
            self._ctx.storage.delete(key)

    @staticmethod
    def _file_keys(connection: sa.Connection, generation_ids: list[str]) -> list[str]:
        if not generation_ids:
            return []
        p = generated_poses.c
        rows = connection.execute(
            sa.select(p.image_key, p.thumbnail_key, p.export_keys).where(
                p.generation_id.in_(generation_ids)
            )
        )
        keys: list[str] = []
        for image_key, thumbnail_key, exports in rows:
            keys += [image_key, thumbnail_key, *dict(exports or {}).values()]
        return keys


def _busy(project_id: str) -> ProjectBusy:
    return ProjectBusy(
        "The project has a generation pending or processing; wait until it finishes, then "
        "delete the project.",
        details={"projectId": project_id},
    )
