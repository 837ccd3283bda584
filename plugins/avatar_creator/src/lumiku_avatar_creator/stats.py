"""The caller's dashboard numbers: counts, recent uploads, usage, top avatars, credits, costs."""

from __future__ import annotations

from typing import Any

import attrs
import sqlalchemy as sa

from lumiku import PluginContext
from lumiku_avatar_creator.models import (
    Record,
    avatar_generations,
    avatar_projects,
    avatar_usage_history,
    avatars,
)
from lumiku_avatar_creator.views import AppUsageView, AvatarView, Renderer

RECENT = 5
TOP = 5


@attrs.frozen
class AvatarCounts:
    """Avatars by how they were made."""

    total: int
    uploaded: int
    generated: int
    from_preset: int


@attrs.frozen
class AvatarGenerationCounts:
    """Generations by status."""

    pending: int
    processing: int
    completed: int
    failed: int


@attrs.frozen
class AvatarCreditsView:
    """The caller's credits: ``available`` = ``balance`` - ``held``."""

    balance: int
    held: int
    available: int


@attrs.frozen(kw_only=True)
class AvatarStatsView:
    """The Avatar Creator dashboard of the caller."""

    projects: int
    avatars: AvatarCounts
    generations: AvatarGenerationCounts
    recent_uploads: list[AvatarView]
    usage: list[AppUsageView]
    top_avatars: list[AvatarView]
    credits: AvatarCreditsView
    costs: dict[str, int]


def _counts(connection: sa.Connection, column: sa.ColumnElement[Any], user: Any) -> dict[str, int]:
    rows = connection.execute(sa.select(column, sa.func.count()).where(user).group_by(column))
    return {str(key): int(count) for key, count in rows}


class Stats:
    """Compute the dashboard of one user."""

    def __init__(self, ctx: PluginContext, renderer: Renderer) -> None:
        self._ctx = ctx
        self._engine = ctx.engine
        self._renderer = renderer

    def for_user(self, user_id: str) -> AvatarStatsView:
        """Return the caller's dashboard."""
        a, u = avatars.c, avatar_usage_history.c
        with self._engine.connect() as connection:
            projects = connection.execute(
                sa.select(sa.func.count()).where(avatar_projects.c.user_id == user_id)
            ).scalar_one()
            sources = _counts(connection, a.source, a.user_id == user_id)
            statuses = _counts(
                connection, avatar_generations.c.status, avatar_generations.c.user_id == user_id
            )
            recent = self._rows(
                connection,
                sa.select(avatars)
                .where(a.user_id == user_id, a.source == "upload")
                .order_by(a.created_at.desc(), a.id.desc())
                .limit(RECENT),
            )
            top = self._rows(
                connection,
                sa.select(avatars)
                .where(a.user_id == user_id, a.usage_count > 0)
                .order_by(a.usage_count.desc(), a.created_at.desc())
                .limit(TOP),
            )
            usage = connection.execute(
                sa.select(u.app_id, sa.func.count(), sa.func.max(u.created_at))
                .where(u.user_id == user_id)
                .group_by(u.app_id)
                .order_by(sa.func.count().desc(), u.app_id)
            ).all()
        balance = self._ctx.ledger.balance(user_id)
        return AvatarStatsView(
            projects=int(projects),
            avatars=AvatarCounts(
                total=sum(sources.values()),
                uploaded=sources.get("upload", 0),
                generated=sources.get("generated", 0),
                from_preset=sources.get("preset", 0),
            ),
            generations=AvatarGenerationCounts(
                pending=statuses.get("pending", 0),
                processing=statuses.get("processing", 0),
                completed=statuses.get("completed", 0),
                failed=statuses.get("failed", 0),
            ),
            recent_uploads=[self._renderer.avatar(row) for row in recent],
            usage=[AppUsageView(app, int(count), last) for app, count, last in usage],
            top_avatars=[self._renderer.avatar(row) for row in top],
            credits=AvatarCreditsView(balance.balance, balance.held, balance.available),
            costs=dict(self._ctx.credits),
        )

    @staticmethod
    def _rows(connection: sa.Connection, query: sa.Select[Any]) -> list[Record]:
        return list(connection.execute(query).mappings().all())
