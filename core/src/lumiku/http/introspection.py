"""``GET /api/plugins``, ``GET /api/apps``, ``/openapi.json`` and ``/metrics``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lumiku.http.declare import get
from lumiku.http.described import OPERATORS, PUBLIC, described, error_ref, json_answer
from lumiku.http.endpoint import Call
from lumiku.http.operator import OperatorAccess, shown_reason
from lumiku.metrics import Metrics
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.state import PluginState


@attrs.frozen
class PluginInfo:
    """A plugin as ``GET /api/plugins`` shows it; never a setting's value."""

    id: str
    title: str
    version: str
    state: str
    reason: str
    reason_code: str
    route_prefix: str | None
    hooks: list[str]
    routes: list[str]
    credits: dict[str, int]
    distribution: str | None = None


@attrs.frozen
class PluginList:
    """Every installed plugin, sorted by id."""

    plugins: list[PluginInfo]


@attrs.frozen
class AppInfo:
    """An enabled plugin as the web client's app launcher shows it."""

    id: str
    title: str
    description: str
    route_prefix: str
    state: str
    credits: dict[str, int]


@attrs.frozen
class AppList:
    """The enabled plugins, sorted by title then id."""

    apps: list[AppInfo]


def introspection_routes(
    registry: PluginRegistry,
    app_metrics: Metrics,
    openapi: Callable[[], dict[str, Any]],
    operators: OperatorAccess,
) -> list[Route]:
    """Return the introspection routes; ``openapi`` builds the document on first request.

    ``/api/plugins`` and ``/metrics`` are for ``operators`` (an admin or the metrics token).
    """

    def list_plugins(call: Call[None, None]) -> PluginList:
        """List installed plugins with state, reason, hooks and routes (operators only)."""
        operators.check(call.request)
        infos = []
        for record in registry.sorted_records():
            data = record.to_json()
            infos.append(
                PluginInfo(
                    id=data["id"],
                    title=data["title"],
                    version=data["version"],
                    state=data["state"],
                    reason=shown_reason(record),
                    reason_code=data["reasonCode"],
                    route_prefix=data["routePrefix"],
                    hooks=data["hooks"],
                    routes=data["routes"],
                    credits=data["credits"],
                    distribution=data["distribution"],
                )
            )
        return PluginList(infos)

    def list_apps(_: Call[None, None]) -> AppList:
        """List the enabled plugins with title, credit costs and state."""
        apps = [
            AppInfo(
                id=record.id,
                title=record.spec.display_title,
                description=record.spec.description,
                route_prefix=record.spec.prefix,
                state=str(record.state),
                credits=dict(record.credits),
            )
            for record in registry.serving()
            if record.spec is not None
        ]
        return AppList(sorted(apps, key=lambda app: (app.title.lower(), app.id)))

    document: dict[str, Any] = {}

    async def openapi_json(_: Request) -> Response:
        """Return the OpenAPI 3.1 document of every route."""
        if not document:
            document.update(openapi())
        return JSONResponse(document)

    async def metrics(request: Request) -> Response:
        """Return the Prometheus metrics (operators only)."""
        await operators.require(request)
        for record in registry.records.values():
            for state in PluginState:
                app_metrics.plugin_state.labels(plugin=record.id, state=state.value).set(
                    1 if record.state is state else 0
                )
        app_metrics.redis_up.set(1 if registry.redis_available else 0)
        return Response(app_metrics.render(), media_type="text/plain; version=0.0.4")

    return [
        get(
            "/api/plugins",
            list_plugins,
            response=PluginList,
            tags=("introspection",),
            errors=(401, 403),  # operators only
        ),
        get("/api/apps", list_apps, response=AppList, tags=("introspection",)),
        described(
            Route("/openapi.json", openapi_json, methods=["GET"]),
            operationId="getOpenApiDocument",
            security=PUBLIC,
            responses={"200": json_answer("The OpenAPI 3.1 document", {"type": "object"})},
        ),
        described(
            Route("/metrics", metrics, methods=["GET"]),
            security=OPERATORS,
            responses={
                "200": {
                    "description": "Prometheus text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "401": error_ref("Unauthorized"),
                "403": error_ref("Forbidden"),
            },
        ),
    ]
