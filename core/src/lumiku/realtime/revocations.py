"""Close the sockets of revoked tokens, on every node.

When a token stops being valid (logout, a password change, a deleted account), the auth
service calls :meth:`Revocations.tokens_changed` with the user's id. Every node then checks
the token of each of that user's sockets again and disconnects those that fail:

- with Redis, the message travels on the Socket.IO channel every node (and worker) shares,
  as an emit to :data:`INTERNAL_NAMESPACE`, which no client can join; the nodes'
  :class:`RevocationRedisManager` intercepts it instead of sending it to clients;
- without Redis, the one node checks its own sockets.

:func:`sweep_forever` re-checks every socket now and then (tokens expire, a user row can be
deleted by hand, a pub/sub message can be lost while Redis restarts).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import socketio
from socketio.async_pubsub_manager import AsyncPubSubManager

from lumiku.realtime.namespace import AuthenticatedNamespace

logger = logging.getLogger("lumiku.realtime")

INTERNAL_NAMESPACE = "/lumiku-internal"
"""Where revocation notices travel between nodes; never served to clients."""
REVOKED_EVENT = "tokens-changed"
SWEEP_SECONDS = 60.0


class Revocations(Protocol):
    """Told by the auth service when some of a user's tokens stopped being valid."""

    def tokens_changed(self, user_id: str) -> None:
        """Re-check the sockets of ``user_id`` on every node (sync, from any thread)."""
        ...


async def recheck(sio: socketio.AsyncServer, user_id: str | None) -> int:
    """Re-check the sockets of ``user_id`` (every socket: ``None``) on this node.

    Returns how many were disconnected.
    """
    closed = 0
    for handler in list(sio.namespace_handlers.values()):
        if isinstance(handler, AuthenticatedNamespace):
            closed += await handler.recheck(user_id)
    return closed


class RevocationRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]  # untyped base
    """The Socket.IO Redis manager of a node, which also acts on revocation notices."""

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if message.get("namespace") != INTERNAL_NAMESPACE:
            await super()._handle_emit(message)
            return
        if message.get("event") != REVOKED_EVENT:
            return
        data = message.get("data")
        notice = data[0] if isinstance(data, list) and data else data
        user_id = notice.get("userId") if isinstance(notice, dict) else None
        if isinstance(user_id, str):
            await recheck(self.server, user_id)


class ServerRevocations:
    """Notify through the server of this process (its Redis channel, or itself alone)."""

    def __init__(self, sio: socketio.AsyncServer, loop: asyncio.AbstractEventLoop) -> None:
        self._sio = sio
        self._loop = loop

    def tokens_changed(self, user_id: str) -> None:
        """Schedule the notice on the server's loop; failures are logged, never raised."""
        manager = self._sio.manager
        if isinstance(manager, AsyncPubSubManager):
            work = manager.emit(REVOKED_EVENT, {"userId": user_id}, namespace=INTERNAL_NAMESPACE)
        else:
            work = recheck(self._sio, user_id)
        try:
            future = asyncio.run_coroutine_threadsafe(work, self._loop)
        except RuntimeError:  # the loop is closed: the server is shutting down
            work.close()
            return
        future.add_done_callback(_log_failure)


class RedisRevocations:
    """Notify the nodes through Redis from a process without a server (a worker, the CLI)."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self._manager = socketio.RedisManager(redis_url, channel=channel, write_only=True)

    def tokens_changed(self, user_id: str) -> None:
        """Publish the notice; a Redis failure is logged (the sweep catches up)."""
        try:
            self._manager.emit(REVOKED_EVENT, {"userId": user_id}, namespace=INTERNAL_NAMESPACE)
        except Exception:
            logger.warning("Revocation notice for user %s not published", user_id, exc_info=True)


class SwitchableRevocations:
    """What the auth service holds: bound to the live server once it runs; else nothing."""

    def __init__(self) -> None:
        self.target: Revocations | None = None

    def tokens_changed(self, user_id: str) -> None:
        """Pass the notice on, or drop it while nothing is bound (no sockets to close)."""
        if self.target is not None:
            self.target.tokens_changed(user_id)


def _log_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.warning("Re-checking sockets after a revocation failed: %r", future.exception())


async def sweep_forever(sio: socketio.AsyncServer, interval: float = SWEEP_SECONDS) -> None:
    """Re-check every socket of this node every ``interval`` seconds, until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            closed = await recheck(sio, None)
        except Exception:
            logger.warning("Re-checking the sockets' tokens failed", exc_info=True)
            continue
        if closed:
            logger.info("Closed %d socket(s) whose token is no longer valid", closed)
