"""Send events to a user's sockets from request handlers, worker threads or worker processes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import socketio

from lumiku.realtime.namespace import user_room
from lumiku.realtime.server import DEFAULT_CHANNEL

logger = logging.getLogger("lumiku.realtime")


class Publisher(Protocol):
    """Send an event to every socket of one user, in one namespace.

    Synchronous and safe from any thread. Delivery is best effort: a failure is logged, not
    raised, because a job that did its work must not fail over a progress message (clients
    can always poll the status). ``data`` must be JSON-serializable.
    """

    def publish(self, user_id: str, event: str, data: Mapping[str, Any], *, namespace: str) -> None:
        """Send ``event`` with ``data`` to room ``user:<user_id>`` of ``namespace``."""
        ...


class ServerPublisher:
    """Publish through the Socket.IO server of this process, from any thread.

    The emit is scheduled on the server's event loop and not waited for, so it may be called
    from the loop itself (a request handler) without blocking it. While ``local_only()`` is
    true (a Redis-backed server whose Redis is away), the emit skips the Redis manager and
    reaches this node's sockets only, instead of being lost.
    """

    def __init__(
        self,
        sio: socketio.AsyncServer,
        loop: asyncio.AbstractEventLoop,
        *,
        local_only: Callable[[], bool] | None = None,
    ) -> None:
        self._sio = sio
        self._loop = loop
        self._local_only = local_only

    def publish(self, user_id: str, event: str, data: Mapping[str, Any], *, namespace: str) -> None:
        """Schedule the emit on the server's loop."""
        local = self._local_only is not None and self._local_only()
        emit = self._sio.emit(
            event, dict(data), to=user_room(user_id), namespace=namespace, ignore_queue=local
        )
        try:
            future = asyncio.run_coroutine_threadsafe(emit, self._loop)
        except RuntimeError:  # the loop is closed: the server is shutting down
            emit.close()
            logger.warning("Realtime event %s for user %s dropped: server stopped", event, user_id)
            return
        future.add_done_callback(_log_failure(event, user_id))


def _log_failure(event: str, user_id: str) -> Callable[[concurrent.futures.Future[Any]], None]:
    def check(future: concurrent.futures.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            logger.warning(
                "Realtime event %s for user %s failed: %r", event, user_id, future.exception()
            )

    return check


class RedisPublisher:
    """Publish through Redis to whichever server holds the user's sockets (worker processes).

    Uses a write-only Socket.IO Redis manager on the servers' ``channel``; it connects on
    first use and reconnects after a Redis outage.
    """

    def __init__(self, redis_url: str, channel: str = DEFAULT_CHANNEL) -> None:
        self._manager = socketio.RedisManager(
            redis_url,
            channel=channel,
            write_only=True,
            # A hung Redis must not hold a job's thread: the publish gives up (and is logged).
            redis_options={"socket_connect_timeout": 5, "socket_timeout": 5},
        )

    def publish(self, user_id: str, event: str, data: Mapping[str, Any], *, namespace: str) -> None:
        """Publish the event on the channel (the manager logs a Redis failure)."""
        try:
            self._manager.emit(event, dict(data), namespace=namespace, room=user_room(user_id))
        except Exception:
            logger.warning("Realtime event %s for user %s failed", event, user_id, exc_info=True)

    def close(self) -> None:
        """Close the Redis connection (the next publish opens a new one)."""
        client = getattr(self._manager, "redis", None)
        if client is not None:
            client.close()


class NullPublisher:
    """Drop every event: for processes and tests without realtime."""

    def publish(self, user_id: str, event: str, data: Mapping[str, Any], *, namespace: str) -> None:
        """Do nothing."""


class SwitchablePublisher:
    """The publisher plugins hold; bound to the live server (or to Redis) once it runs."""

    def __init__(self) -> None:
        self.target: Publisher | None = None

    def publish(self, user_id: str, event: str, data: Mapping[str, Any], *, namespace: str) -> None:
        """Send ``event`` to the user's room, or drop it while no publisher is bound."""
        if self.target is None:
            logger.debug("realtime event %s dropped: no server bound", event)
            return
        self.target.publish(user_id, event, data, namespace=namespace)
