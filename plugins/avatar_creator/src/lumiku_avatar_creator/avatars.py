"""A user's avatars: list (all, or one project's), read, edit, delete.

Editing the name, persona or attributes costs ``editPersona`` credits (0 unless the
deployer sets a price; then it is spent before the change and refunded if the avatar was
deleted meanwhile; a retry with the same ``Idempotency-Key`` after such a refund is charged
under the next round's key, see ``charges.py``). Deleting removes the avatar's usage
history and both files; a finished generation that made the avatar loses its link to it,
a generation still open keeps it (so the job can still complete and settle it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from lumiku import PluginContext, Reference
from lumiku_avatar_creator.charges import ChargeKeys
from lumiku_avatar_creator.errors import AvatarNotFound
from lumiku_avatar_creator.files import FileCleanup
from lumiku_avatar_creator.identity import request_token
from lumiku_avatar_creator.models import Record, avatar_generations, avatar_usage_history, avatars
from lumiku_avatar_creator.pagination import PageQuery, newest_first, split_page
from lumiku_avatar_creator.projects import find_project
from lumiku_avatar_creator.traits import TraitFields, trait_values
from lumiku_avatar_creator.transitions import TERMINAL_STATUSES
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

    def page(
        self, user_id: str, page: PageQuery, project_id: str | None
    ) -> tuple[list[Record], str | None]:
        """Return a page of the caller's avatars, newest first (optionally one project's)."""
        query = sa.select(avatars).where(avatars.c.user_id == user_id)
        with self._engine.connect() as connection:
            if project_id is not None:
                find_project(connection, user_id, project_id)
                query = query.where(avatars.c.project_id == project_id)
            query = newest_first(query, avatars.c.created_at, avatars.c.id, page)
            rows = connection.execute(query).mappings().all()
        return split_page(rows, page, "created_at")

    def get(self, user_id: str, avatar_id: str) -> Record:
        """Return the caller's avatar, or raise ``AvatarNotFound``."""
        with self._engine.connect() as connection:
            return find_avatar_row(connection, user_id, avatar_id)

    def usage(
        self, user_id: str, avatar_id: str, page: PageQuery
    ) -> tuple[list[Record], str | None, list[AvatarUsage]]:
        """Return a page of the avatar's usage records, the next cursor and a summary per app."""
        self.get(user_id, avatar_id)
        rows, cursor = usage_page(self._engine, avatar_id, page)
        return rows, cursor, usage_summary(self._engine, avatar_id)

    def update(
        self,
        user_id: str,
        avatar_id: str,
        name: str | None,
        traits: TraitFields,
        idempotency_key: str | None,
    ) -> Record:
        """Apply the fields given (``""`` clears a text field; left out: unchanged)."""
        changes: dict[str, Any] = trait_values(traits, keep_missing=False)
        if name is not None:
            changes["name"] = name.strip()
        self.get(user_id, avatar_id)
        cost = self._ctx.cost("editPersona")
        token, _ = request_token(idempotency_key)
        charged = cost > 0 and bool(changes)
        keys = ChargeKeys.of("edit", user_id, token)
        if charged:
            keys = ChargeKeys.current(self._ctx.ledger, "edit", user_id, token)
            self._ctx.ledger.spend(
                user_id,
                cost,
                "avatar persona edit",
                keys.spend,
                plugin=self._ctx.id,
                reference=Reference("avatar", avatar_id),
            )
        changes["updated_at"] = datetime.now(UTC)
        with self._engine.begin() as connection:
            updated = connection.execute(
                sa.update(avatars)
                .where(avatars.c.id == avatar_id, avatars.c.user_id == user_id)
                .values(changes)
            ).rowcount
            row = connection.execute(sa.select(avatars).where(avatars.c.id == avatar_id))
            current = row.mappings().first()
        if updated != 1 or current is None:
            if charged:
                self._ctx.ledger.grant(
                    user_id,
                    cost,
                    "refund: the avatar was deleted before the edit",
                    keys.refund,
                    plugin=self._ctx.id,
                    reference=Reference("avatar", avatar_id),
                )
            raise AvatarNotFound(avatar_id)
        return current

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
                    avatar_generations.c.status.in_(TERMINAL_STATUSES),
                )
                .values(avatar_id=None)
            )
            connection.execute(sa.delete(avatars).where(avatars.c.id == avatar_id))
        self._files.delete([row["image_key"], row["thumbnail_key"]])
