"""The plugin's HTTP routes, one module per concept, mounted under ``/api/apps/avatar-creator``.

Every list answers ``{<items>, nextCursor}`` and takes ``?limit=`` (1-100) and ``?cursor=``
(the previous page's ``nextCursor``). Routes that charge accept an ``Idempotency-Key``.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from lumiku_avatar_creator.routes.avatars import avatar_routes
from lumiku_avatar_creator.routes.catalog import catalog_routes
from lumiku_avatar_creator.routes.dashboard import dashboard_routes
from lumiku_avatar_creator.routes.generations import generation_routes
from lumiku_avatar_creator.routes.projects import project_routes
from lumiku_avatar_creator.services import Services

TAGS = ("avatar-creator",)


def build_routes(services: Services) -> list[BaseRoute]:
    """Return every route of the plugin."""
    return [
        *project_routes(services, TAGS),
        *avatar_routes(services, TAGS),
        *generation_routes(services, TAGS),
        *catalog_routes(services, TAGS),
        *dashboard_routes(services, TAGS),
    ]
