"""Mount a plugin's routes under its prefix behind a gate that contains its failures."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lumiku.http.endpoint import for_plugin
from lumiku.http.errors import client_gone_response, error_body
from lumiku.http.routing import group_routes
from lumiku.metrics import Metrics
from lumiku.plugins.state import PluginRecord

logger = logging.getLogger("lumiku.http")


class PluginGate:
    """ASGI middleware for one plugin's mount.

    While the plugin does not serve (failed at startup, or waiting for Redis) its routes
    answer 503 with the reason; its health route always answers. An exception escaping a
    raw (undeclared) route becomes a 500 in the common shape with the plugin id logged.
    """

    def __init__(self, app: ASGIApp, record: PluginRecord, metrics: Metrics) -> None:
        self.app = app
        self.record = record
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        health = scope.get("path", "").rstrip("/").endswith("/health")
        if not self.record.state.serving and not health:
            response = JSONResponse(
                error_body(
                    "PLUGIN_UNAVAILABLE",
                    f"{self.record.id} is {self.record.describe()}",
                    {
                        "plugin": self.record.id,
                        "state": str(self.record.state),
                        "reasonCode": str(self.record.reason_code),
                    },
                ),
                status_code=503,
            )
            await response(scope, receive, send)
            return
        # Declared endpoints read it to name the plugin in their error log lines and metrics.
        scope["lumiku.plugin"] = self.record.id
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except HTTPException:
            raise  # no route or method under the mount: rendered as 404/405 by the app
        except ClientDisconnect:
            if not started:
                await client_gone_response(None, where=str(scope.get("path")))(scope, receive, send)
        except Exception as exc:
            self.metrics.record_route_error(self.record.id)
            logger.error(
                "unexpected error in plugin %s route %s",
                self.record.id,
                scope.get("path"),
                exc_info=exc,
            )
            if started:
                raise
            response = JSONResponse(
                error_body("INTERNAL_ERROR", "Internal server error; the error was logged."),
                status_code=500,
            )
            await response(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """Return the request path below the app's root path (as Starlette's routing sees it)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path + "/"):
        return path[len(root_path) :]
    return path


class PluginMount(Mount):
    """A mount that also serves its prefix itself: ``/api/payments`` reaches the plugin's
    route ``/`` as ``/api/payments/`` does (a plain mount answers it with a redirect, which
    a client posting a body should not have to follow)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] in ("http", "websocket") and _route_path(scope) == self.path:
            matched, child = super().matches({**scope, "path": scope["path"] + "/"})
            if matched is Match.FULL:
                return matched, {**child, "path": scope["path"] + "/"}
        return super().matches(scope)


def mount_plugin(record: PluginRecord, routes: list[BaseRoute], metrics: Metrics) -> Mount:
    """Return the mount of ``record``'s routes under its prefix, behind a ``PluginGate``.

    Declared routes are stamped with the plugin's id (their tag when they declare none) and
    the routes of one path are grouped, so a 405 lists every method of the path.
    """
    assert record.spec is not None
    return PluginMount(
        record.spec.prefix,
        routes=group_routes(for_plugin(item, record.id) for item in routes),
        name=record.id,
        middleware=[Middleware(PluginGate, record=record, metrics=metrics)],
    )
