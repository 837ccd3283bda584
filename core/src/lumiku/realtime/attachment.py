"""Attach the Socket.IO server to an app: plugin namespaces, auth, the live publisher."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import socketio
from starlette.types import ASGIApp

from lumiku.metrics import Metrics
from lumiku.realtime.connections import ConnectionGauge
from lumiku.realtime.namespace import AuthenticatedNamespace
from lumiku.realtime.publisher import ServerPublisher, SwitchablePublisher
from lumiku.realtime.revocations import ServerRevocations, SwitchableRevocations, sweep_forever
from lumiku.realtime.server import build_realtime, wrap_app


class _TokenToUserId:
    """Adapt a token check to the realtime ``Authenticator`` (token -> user id)."""

    def __init__(self, user_id_of: Callable[[str], str]) -> None:
        self._user_id_of = user_id_of

    def authenticate(self, token: str) -> str:
        return self._user_id_of(token)


class RealtimeAttachment:
    """The Socket.IO server of one app; bound to the event loop by the lifespan."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        gauge: ConnectionGauge,
        publisher: SwitchablePublisher,
        revocations: SwitchableRevocations | None = None,
        local_only: Callable[[], bool] | None = None,
    ) -> None:
        self.sio = sio
        self.gauge = gauge
        self._publisher = publisher
        self._revocations = revocations
        self._local_only = local_only

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let plugins publish to this server, and auth close revoked sockets, from any thread."""
        self._publisher.target = ServerPublisher(self.sio, loop, local_only=self._local_only)
        if self._revocations is not None:
            self._revocations.target = ServerRevocations(self.sio, loop)

    async def sweep(self, interval: float) -> None:
        """Re-check every socket's token every ``interval`` seconds (run it as a task)."""
        await sweep_forever(self.sio, interval)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """Return ``app`` served together with Socket.IO on the same port."""
        return wrap_app(self.sio, app)


def claim_namespaces(
    provided: Iterable[Any], owners: dict[str, str], owner: str
) -> list[AuthenticatedNamespace]:
    """Check a plugin's namespaces and record ``owner`` as theirs.

    Raise ``ValueError`` (claiming none) for a namespace the server would refuse: one that
    does not authenticate, or a name already taken.
    """
    claimed: list[AuthenticatedNamespace] = []
    for namespace in provided:
        name = getattr(namespace, "namespace", namespace)
        if not isinstance(namespace, AuthenticatedNamespace):
            raise ValueError(
                f"namespace {name!r} must subclass lumiku.AuthenticatedNamespace, "
                "so that only signed-in users connect"
            )
        if name in owners or name in {ns.namespace for ns in claimed}:
            raise ValueError(
                f"namespace {name!r} is already registered by {owners.get(name, 'this plugin')}"
            )
        claimed.append(namespace)
    owners.update((namespace.namespace, owner) for namespace in claimed)
    return claimed


def attach_realtime(
    namespaces: Sequence[AuthenticatedNamespace],
    *,
    redis_url: str | None,
    cors_origins: Sequence[str],
    user_id_of: Callable[[str], str],
    publisher: SwitchablePublisher,
    metrics: Metrics,
    revocations: SwitchableRevocations | None = None,
    local_only: Callable[[], bool] | None = None,
) -> RealtimeAttachment:
    """Build the Socket.IO server serving ``namespaces``.

    ``user_id_of`` turns a token into a user id (raising when it is not valid);
    ``publisher`` is bound to the server once the event loop runs. While ``local_only()``
    is true (Redis lost at runtime), events go to this node's sockets directly instead of
    through Redis.
    """
    gauge = ConnectionGauge(on_change=metrics.record_connections)
    sio = build_realtime(
        redis_url=redis_url,
        cors_origins=[o for o in cors_origins if o != "*"] or ("*" if "*" in cors_origins else []),
        authenticator=_TokenToUserId(user_id_of),
        namespaces=namespaces,
        connections=gauge,
    )
    return RealtimeAttachment(sio, gauge, publisher, revocations, local_only)
