"""Build the Socket.IO server and mount it on the same port as the HTTP application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError as SocketRefused
from starlette.types import ASGIApp

from lumiku.realtime.connections import ConnectionGauge
from lumiku.realtime.namespace import AuthenticatedNamespace, Authenticator
from lumiku.realtime.revocations import INTERNAL_NAMESPACE, RevocationRedisManager

DEFAULT_CHANNEL = "lumiku:socketio"
"""The Redis pub/sub channel the servers and the worker publishers share."""

SOCKETIO_PATH = "socket.io"

REDIS_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 5, "socket_keepalive": True}
"""The Redis options of the servers' pub/sub manager: a connection attempt gives up after 5 s
(and is retried by the manager); no read timeout, because the subscription waits for
messages, and TCP keepalive finds a peer that went away."""


def build_realtime(
    *,
    redis_url: str | None,
    cors_origins: Sequence[str],
    authenticator: Authenticator,
    namespaces: Sequence[socketio.AsyncNamespace],
    channel: str = DEFAULT_CHANNEL,
    connections: ConnectionGauge | None = None,
) -> socketio.AsyncServer:
    """Build the ASGI Socket.IO server with the plugins' namespaces.

    With ``redis_url`` the server joins the other nodes (and the worker processes) through
    an ``AsyncRedisManager`` on ``channel``; without it, it serves this node only. An empty
    ``cors_origins`` allows the same origin only. Connections to a namespace no plugin
    registered, including ``/``, are refused.
    """
    checked = [_authenticated(namespace) for namespace in namespaces]
    names: list[str] = [ns.namespace for ns in checked]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Socket.IO namespaces registered twice: {duplicates}")
    if INTERNAL_NAMESPACE in names:
        raise ValueError(f"the Socket.IO namespace {INTERNAL_NAMESPACE} is reserved for Lumiku")
    # The Redis manager also carries revocation notices between nodes (realtime.revocations).
    manager = (
        RevocationRedisManager(redis_url, channel=channel, redis_options=REDIS_OPTIONS)
        if redis_url
        else None
    )
    server = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=list(cors_origins) or None,
        namespaces=names or ["/"],
    )
    gauge = connections or ConnectionGauge()
    for namespace in checked:
        namespace.bind(authenticator=authenticator, connections=gauge)
        server.register_namespace(namespace)
    if "/" not in names:
        server.on("connect", _refuse_root, namespace="/")
    return server


def _authenticated(namespace: socketio.AsyncNamespace) -> AuthenticatedNamespace:
    if not isinstance(namespace, AuthenticatedNamespace):
        raise TypeError(
            f"namespace {getattr(namespace, 'namespace', namespace)!r} must subclass "
            "AuthenticatedNamespace, so that only signed-in users connect"
        )
    return namespace


async def _refuse_root(sid: str, environ: Any, auth: Any = None) -> None:
    raise SocketRefused("Connect to a plugin namespace, such as /my-plugin")


async def close_realtime(sio: socketio.AsyncServer) -> None:
    """Stop the server's background tasks and close its Redis connections.

    Call it from the application's lifespan shutdown, before the web server stops: the
    wrapped HTTP application owns the lifespan, so Socket.IO does not see it.
    """
    await sio.shutdown()
    manager = sio.manager
    # The Redis manager keeps its listener task and connections on these attributes and
    # has no method to release them.
    listener = getattr(manager, "thread", None)
    if isinstance(listener, asyncio.Task):
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
    for resource in (getattr(manager, "pubsub", None), getattr(manager, "redis", None)):
        if resource is not None:
            await resource.aclose()


def wrap_app(sio: socketio.AsyncServer, asgi_app: ASGIApp) -> ASGIApp:
    """Serve Socket.IO under ``/socket.io`` and everything else (lifespan too) by ``asgi_app``."""
    wrapped: ASGIApp = socketio.ASGIApp(sio, other_asgi_app=asgi_app, socketio_path=SOCKETIO_PATH)
    return wrapped
