"""Attach the Socket.IO server to an app: plugin namespaces, auth, the live publisher."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import socketio
from starlette.types import ASGIApp

from lumiku.plugins.dispatch import FAIL_PLUGIN, HookFailed, UnusableResult
from lumiku.realtime.connections import ConnectionGauge
from lumiku.realtime.namespace import AuthenticatedNamespace
from lumiku.realtime.publisher import ServerPublisher
from lumiku.realtime.server import build_realtime, wrap_app

if TYPE_CHECKING:
    from lumiku.bootstrap import Runtime

logger = logging.getLogger("lumiku")


class _TokenToUserId:
    """Adapt the auth service to the realtime ``Authenticator`` (token -> user id)."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def authenticate(self, token: str) -> str:
        return str(self._runtime.auth.authenticate(token).id)


class RealtimeAttachment:
    """The Socket.IO server of one app; bound to the event loop by the lifespan."""

    def __init__(self, runtime: Runtime, sio: socketio.AsyncServer, gauge: ConnectionGauge) -> None:
        self.runtime = runtime
        self.sio = sio
        self.gauge = gauge

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let plugins publish to this server from any thread."""
        self.runtime.publisher.target = ServerPublisher(self.sio, loop)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """Return ``app`` served together with Socket.IO on the same port."""
        return wrap_app(self.sio, app)


def _plugin_namespaces(runtime: Runtime) -> list[Any]:
    """Collect the plugins' namespaces; a plugin whose hook raises or returns a namespace
    the server would refuse (not authenticated, already taken) fails alone."""
    namespaces: list[Any] = []
    owners: dict[str, str] = {}
    for record in runtime.registry.loaded():
        provided = runtime.hooks.call(
            "register_realtime",
            record,
            {"ctx": runtime.context(record)},
            on_failure=FAIL_PLUGIN,
            accept=lambda result: _checked_namespaces(result, owners),
        )
        if not isinstance(provided, HookFailed):
            owners.update((namespace.namespace, record.id) for namespace in provided)
            namespaces.extend(provided)
    return namespaces


def _checked_namespaces(result: Any, owners: dict[str, str]) -> list[Any]:
    provided = list(result or [])
    problem = _namespace_problem(provided, owners)
    if problem is not None:
        raise UnusableResult(problem)
    return provided


def _namespace_problem(provided: list[Any], owners: dict[str, str]) -> str | None:
    seen: set[str] = set()
    for namespace in provided:
        name = getattr(namespace, "namespace", namespace)
        if not isinstance(namespace, AuthenticatedNamespace):
            return (
                f"namespace {name!r} must subclass lumiku.AuthenticatedNamespace, "
                "so that only signed-in users connect"
            )
        if name in owners or name in seen:
            owner = owners.get(name, "this plugin")
            return f"namespace {name!r} is already registered by {owner}"
        seen.add(name)
    return None


def attach_realtime(runtime: Runtime) -> RealtimeAttachment:
    """Build the Socket.IO server from the namespaces plugins register."""
    namespaces = _plugin_namespaces(runtime)
    gauge = ConnectionGauge()
    runtime.metrics.live.connections = gauge
    sio = build_realtime(
        redis_url=runtime.settings.redis.url,
        cors_origins=[o for o in runtime.settings.cors_origins if o != "*"]
        or ("*" if "*" in runtime.settings.cors_origins else []),
        authenticator=_TokenToUserId(runtime),
        namespaces=namespaces,
        connections=gauge,
    )
    return RealtimeAttachment(runtime, sio, gauge)
