"""The base class of plugin Socket.IO namespaces: only signed-in users connect."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Protocol

import socketio
from socketio.exceptions import ConnectionRefusedError as SocketRefused

from lumiku.errors import Unauthorized
from lumiku.realtime.connections import ConnectionGauge

logger = logging.getLogger("lumiku.realtime")


class Authenticator(Protocol):
    """Turn an access token into a user id (the auth service implements it)."""

    def authenticate(self, token: str) -> str:
        """Return the id of the token's user; raise ``Unauthorized`` for a bad token."""
        ...


def user_room(user_id: str) -> str:
    """Return the room every connection of ``user_id`` joins: ``user:<id>``."""
    return f"user:{user_id}"


class AuthenticatedNamespace(socketio.AsyncNamespace):  # type: ignore[misc]  # untyped base
    """A namespace whose clients must send a valid token as ``auth.token`` to connect.

    On connect the token is checked, the user id is stored in the session and the socket
    joins room ``user:<id>``, which is where :class:`~lumiku.realtime.publisher.Publisher`
    sends events. Subclasses add ``on_<event>`` handlers and may override
    :meth:`on_authenticated` and :meth:`on_left`; overriding ``on_connect`` or
    ``on_disconnect`` is refused, as it would skip the sign-in check.
    :func:`~lumiku.realtime.server.build_realtime` binds the authenticator.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("on_connect", "on_disconnect"):
            if name in vars(cls):
                raise TypeError(
                    f"{cls.__qualname__} overrides {name}, which would skip the sign-in "
                    "check; override on_authenticated or on_left instead"
                )

    def __init__(self, namespace: str) -> None:
        super().__init__(namespace)
        self._authenticator: Authenticator | None = None
        self._connections = ConnectionGauge()
        self._users: dict[str, str] = {}
        # The token each socket connected with, checked again when tokens are revoked.
        self._tokens: dict[str, str] = {}

    def bind(self, *, authenticator: Authenticator, connections: ConnectionGauge) -> None:
        """Use ``authenticator`` to check tokens and ``connections`` to count sockets."""
        self._authenticator = authenticator
        self._connections = connections

    async def on_connect(self, sid: str, environ: Mapping[str, Any], auth: Any = None) -> None:
        """Authenticate the socket and put it in its user's room, or refuse it."""
        token, user_id = await self._authenticate(auth)
        await self.save_session(sid, {"user_id": user_id})
        await self.enter_room(sid, user_room(user_id))
        await self.on_authenticated(sid, user_id)
        self._users[sid] = user_id
        self._tokens[sid] = token
        self._connections.opened(self.namespace)

    async def on_disconnect(self, sid: str, reason: str | None = None) -> None:
        """Stop counting the socket and tell :meth:`on_left`."""
        user_id = self._users.pop(sid, None)
        self._tokens.pop(sid, None)
        if user_id is None:
            return
        self._connections.closed(self.namespace)
        await self.on_left(sid, user_id)

    async def on_authenticated(self, sid: str, user_id: str) -> None:
        """Run after a user's socket is accepted; raise ``ConnectionRefusedError`` to refuse."""

    async def on_left(self, sid: str, user_id: str) -> None:
        """Run after a signed-in user's socket disconnected."""

    async def user_id(self, sid: str) -> str:
        """Return the id of the user behind socket ``sid``."""
        session: dict[str, Any] = await self.get_session(sid)
        return str(session["user_id"])

    async def recheck(self, user_id: str | None = None) -> int:
        """Check again the token of each socket of ``user_id`` (all: ``None``) on this node.

        A socket whose token is no longer valid (revoked, expired, its password changed,
        its account gone) leaves its room at once and is disconnected; returns how many.
        A failing check (the database is down) keeps the socket and is logged.
        """
        if self._authenticator is None:
            return 0
        authenticator = self._authenticator
        sids = [sid for sid, owner in self._users.items() if user_id in (None, owner)]
        closed = 0
        for sid in sids:
            token = self._tokens.get(sid)
            if token is None:
                continue
            try:
                await asyncio.to_thread(authenticator.authenticate, token)
            except Unauthorized:
                # Out of the room first: no event reaches it while the disconnect runs.
                await self.leave_room(sid, user_room(self._users.get(sid, "")))
                await self.disconnect(sid)
                closed += 1
            except Exception:  # noqa: BLE001 - keep the socket; the next check decides
                logger.warning("Re-checking a socket's token on %s failed", self.namespace)
        return closed

    async def _authenticate(self, auth: Any) -> tuple[str, str]:
        token = auth.get("token") if isinstance(auth, Mapping) else None
        if not isinstance(token, str) or not token:
            raise SocketRefused(
                f"Connecting to {self.namespace} needs a sign-in: send the access token "
                "as auth.token"
            )
        if self._authenticator is None:
            logger.error("Namespace %s has no authenticator; refusing sockets", self.namespace)
            raise SocketRefused("Realtime sign-in is not available on this server")
        try:
            # The auth service may look up revoked tokens in the database: keep the loop free.
            return token, await asyncio.to_thread(self._authenticator.authenticate, token)
        except Unauthorized as exc:
            raise SocketRefused(f"Sign-in refused: {exc.message}") from None
        except Exception:
            logger.exception("Authenticating a socket on %s failed", self.namespace)
            raise SocketRefused("Sign-in is unavailable right now; try again shortly") from None
