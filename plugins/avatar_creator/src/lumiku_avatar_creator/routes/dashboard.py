"""``/stats`` (the caller's dashboard) and ``/info`` (public: the app and its costs)."""

from __future__ import annotations

import attrs
from starlette.routing import BaseRoute

from lumiku import Call, get
from lumiku_avatar_creator.services import Services
from lumiku_avatar_creator.stats import AvatarStatsView


@attrs.frozen
class AvatarCreatorInfo:
    """The app, its image provider and what each action costs."""

    id: str
    title: str
    provider: str
    credits: dict[str, int]


def dashboard_routes(services: Services, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the dashboard routes."""
    stats, ctx = services.stats, services.ctx

    def get_stats(call: Call[None, None]) -> AvatarStatsView:
        """Return counts, recent uploads, usage, top avatars, credits and the cost table."""
        return stats.for_user(call.user_id)

    def info(_call: Call[None, None]) -> AvatarCreatorInfo:
        """Describe the app, its provider and its credit costs."""
        return AvatarCreatorInfo(
            ctx.id, ctx.spec.display_title, ctx.settings.provider, dict(ctx.credits)
        )

    return [
        get("/stats", get_stats, auth="user", response=AvatarStatsView, tags=tags),
        get("/info", info, response=AvatarCreatorInfo, tags=tags),
    ]
