"""A user's avatars: list (all, or one project's), read, edit, delete.

Editing the name, persona or attributes costs ``editPersona`` credits (0 unless the
deployer sets a price; then it is charged for the change and refunded if the avatar was
deleted meanwhile, through ``ctx.charges``). Deleting removes the avatar's usage
history and both files; a finished generation that made the avatar loses its link to it,
a generation still open keeps it (so the job can still complete and settle it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from lumiku import (
    OPEN_JOB_STATUSES,
    Call,
    Page,
    PageQuery,
    PluginContext,
    Reference,
    fetch_page,
    newest_first,
)
from lumiku_avatar_creator.errors import AvatarNotFound
from lumiku_avatar_creator.files import FileCleanup
from lumiku_avatar_creator.models import Record, avatar_generations, avatar_usage_history, avatars
from lumiku_avatar_creator.projects import find_project
from lumiku_avatar_creator.traits import TraitFields, trait_values
from lumiku_avatar_creator.usage import AvatarUsage, usage_page, usage_summary


def find_avatar_row(connection: sa.Connection, user_id: str, avatar_id: str) -> Record:
    """Return the caller's avatar row, or raise ``AvatarNotFound``."""
    row = (
        connection.execute(
            sa.select(avatars).where(avatars.c.id == avatar_id, avatars.c.user_id == user_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise AvatarNotFound(avatar_id)
    return row


class Avatars:
    """Read, edit and delete the caller's avatars."""

    def __init__(self, ctx: PluginContext, files: FileCleanup) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._files = files

    def page(self, user_id: str, page: PageQuery, project_id: str | None) -> Page[Record]:
        """Return a page of the caller's avatars, newest first (optionally one project's)."""
        query = sa.select(avatars).where(avatars.c.user_id == user_id)
        with self._engine.connect() as connection:
            if project_id is not None:
                find_project(connection, user_id, project_id)
                query = query.where(avatars.c.project_id == project_id)
            return fetch_page(
                connection, query, page, newest_first(avatars.c.created_at, avatars.c.id)
            )

    def get(self, user_id: str, avatar_id: str) -> Record:
        """Return the caller's avatar, or raise ``AvatarNotFound``."""
        with self._engine.connect() as connection:
            return find_avatar_row(connection, user_id, avatar_id)

    def usage(
        self, user_id: str, avatar_id: str, page: PageQuery
    ) -> tuple[Page[Record], list[AvatarUsage]]:
        """Return a page of the avatar's usage records and a summary per app."""
        self.get(user_id, avatar_id)
        return usage_page(self._engine, avatar_id, page), usage_summary(self._engine, avatar_id)

    def update(
        self, call: Call[Any, Any], avatar_id: str, name: str | None, traits: TraitFields
    ) -> Record:
        """Apply the fields given (``""`` clears a text field; left out: unchanged)."""
        user_id = call.user_id
        changes: dict[str, Any] = trait_values(traits, keep_missing=False)
        if name is not None:
            changes["name"] = name.strip()
        current = self.get(user_id, avatar_id)
        cost = self._ctx.cost("editPersona") if changes else 0
        with self._ctx.charges.spend(
            call,
            "editPersona",
            amount=cost,
            reason=f"Avatar edit {current['name']!r}",
            reference=Reference("avatar", avatar_id),
            purpose="edit an avatar",
        ):
            changes["updated_at"] = datetime.now(UTC)
            with self._engine.begin() as connection:
                updated = connection.execute(
                    sa.update(avatars)
                    .where(avatars.c.id == avatar_id, avatars.c.user_id == user_id)
                    .values(changes)
                ).rowcount
                row = connection.execute(sa.select(avatars).where(avatars.c.id == avatar_id))
                edited = row.mappings().first()
            if updated != 1 or edited is None:
                raise AvatarNotFound(avatar_id)  # deleted meanwhile: the charge is refunded
        return edited

    def delete(self, user_id: str, avatar_id: str) -> None:
        """Delete the caller's avatar, its usage history and its files."""
        with self._engine.begin() as connection:
            row = find_avatar_row(connection, user_id, avatar_id)
            connection.execute(
                sa.delete(avatar_usage_history).where(avatar_usage_history.c.avatar_id == avatar_id)
            )
            # Only finished generations let go of the avatar: an open one that already has
            # it (a job that crashed before completing) must keep it to complete and settle.
            connection.execute(
                sa.update(avatar_generations)
                .where(
                    avatar_generations.c.avatar_id == avatar_id,
                    avatar_generations.c.status.not_in(OPEN_JOB_STATUSES),
                )
                .values(avatar_id=None)
            )
            connection.execute(sa.delete(avatars).where(avatars.c.id == avatar_id))
        self._files.delete([row["image_key"], row["thumbnail_key"]])
