"""One route per path: the methods registered for a path share one ``PathRoute``.

Each ``get``/``post``/... declaration is its own Starlette ``Route``, and Starlette answers
a method no route of the path has with the ``Allow`` of the first route it tried (so a
``PATCH`` on a path with ``GET``, ``PUT`` and ``DELETE`` said ``Allow: GET, HEAD``).
``group_routes`` merges the routes of one path into a ``PathRoute`` that dispatches by
method, answers 405 with every method of the path in ``Allow``, and ``OPTIONS`` with 204
and the same ``Allow``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _sort_methods(methods: Iterable[str]) -> list[str]:
    order = {method: index for index, method in enumerate(_METHOD_ORDER)}
    return sorted(methods, key=lambda method: (order.get(method, len(order)), method))


class PathRoute(Route):
    """The routes of one path, dispatched by method; ``members`` maps a method to its route."""

    def __init__(self, routes: Sequence[Route]) -> None:
        first = routes[0]
        self.members: dict[str, Route] = {}
        for item in routes:
            for method in item.methods or {"GET", "HEAD"}:
                self.members.setdefault(method, item)  # the first declaration wins, as before
        super().__init__(first.path, first.endpoint, methods=list(self.members), name=first.name)
        self.allow = ", ".join(_sort_methods({*self.members, "OPTIONS"}))

    @property
    def routes(self) -> list[Route]:
        """Return the member routes, each once, in declaration order."""
        seen: dict[int, Route] = {}
        for item in self.members.values():
            seen.setdefault(id(item), item)
        return list(seen.values())

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        """Match the path; a method of no member is a partial match (405), as in Starlette."""
        match, child_scope = super().matches(scope)
        if match is Match.FULL:
            child_scope["endpoint"] = self.members[scope["method"]].endpoint
        elif match is Match.PARTIAL and scope["method"] == "OPTIONS":
            match = Match.FULL  # answered with 204 and Allow by handle()
        return match, child_scope

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Return the path of the member route called ``name``."""
        for item in self.routes:
            try:
                return item.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the member route of the method; 204 for ``OPTIONS``; else 405 with ``Allow``."""
        member = self.members.get(scope["method"])
        if member is not None:
            await member.handle(scope, receive, send)
            return
        headers = {"Allow": self.allow}
        response: Response
        if scope["method"] == "OPTIONS":
            response = Response(status_code=204, headers=headers)
        elif "app" in scope:
            raise HTTPException(status_code=405, headers=headers)
        else:
            response = PlainTextResponse("Method Not Allowed", status_code=405, headers=headers)
        await response(scope, receive, send)


def group_routes(routes: Iterable[BaseRoute]) -> list[BaseRoute]:
    """Return ``routes`` with the ``Route``s of each path merged into one ``PathRoute``.

    A path's ``PathRoute`` takes the place of its first route, so the order in which paths
    are tried is kept; mounts and other routes are left as they are.
    """
    grouped: dict[str, list[Route]] = {}
    order: list[BaseRoute | str] = []
    for item in routes:
        if not isinstance(item, Route):
            order.append(item)
            continue
        members = item.routes if isinstance(item, PathRoute) else [item]
        if item.path not in grouped:
            grouped[item.path] = []
            order.append(item.path)
        grouped[item.path].extend(members)
    return [(PathRoute(grouped[entry]) if isinstance(entry, str) else entry) for entry in order]


def walk_routes(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    """Yield ``(full path, route)`` for every route, entering mounts and ``PathRoute``s.

    A mounted route ``/`` is the mount's own path (``/api/payments``, which a plugin's
    mount serves as it serves ``/api/payments/``).
    """
    for item in routes:
        if isinstance(item, Mount):
            yield from walk_routes(item.routes, prefix + item.path)
        elif isinstance(item, PathRoute):
            for member in item.routes:
                yield joined_path(prefix, member.path), member
        elif isinstance(item, Route):
            yield joined_path(prefix, item.path), item


def joined_path(prefix: str, path: str) -> str:
    """Return a mounted route's full path: the mount's own path for its route ``/``."""
    return prefix if prefix and path == "/" else prefix + path
