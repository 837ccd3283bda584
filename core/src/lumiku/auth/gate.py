"""Authenticate bearer tokens on the event loop: the HTTP edge's hot path.

``TokenGate.authenticate`` verifies the token (PyJWT, CPU only), then checks the account
behind it exactly as ``AuthService.authenticate`` does (``TokenOwner.admit``: revoked,
issued before a password change, another password, account gone), with the account's
state taken from:

1. the ``AccountCache``, while it is exact: on PostgreSQL a change feed
   (``lumiku.auth.change_feed``) hears of every change to ``users`` and ``revoked_tokens``
   and holds a lease that says it has heard of all of them up to a moment ago; a request
   that revokes waits out that lease before it answers (``AuthService(settle=...)``). So a
   revoked token is refused by every process once the revoking request has answered;
2. else one read from the loop (``lumiku.db.loop_reads``): on SQLite a local read of a few
   microseconds, on PostgreSQL one autocommit round trip without a thread hop.

Without a loop reader (an in-memory SQLite database) it runs ``AuthService.authenticate``
in a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

import attrs
from starlette.concurrency import run_in_threadpool

from lumiku.auth.models import CurrentUser, User
from lumiku.auth.tokens import INVALID_TOKEN_MESSAGE, TokenService, credential_version
from lumiku.auth.users import TokenOwner
from lumiku.db.loop_reads import LoopReader, Row, Statement, as_utc
from lumiku.errors import Unauthorized
from lumiku.roles import is_role

TOKEN_OWNER = Statement(
    "SELECT u.id, u.email, u.name, u.role, u.created_at, u.updated_at, u.tokens_valid_after,"
    " u.password_hash, r.jti FROM users u LEFT JOIN revoked_tokens r ON r.jti = :jti"
    " WHERE u.id = :user_id"
)
"""The account behind a token and whether the token is revoked: two primary-key probes."""

DEFAULT_CACHE_SIZE = 50_000


def owner_from(row: Row) -> TokenOwner:
    """Return the ``TokenOwner`` of a ``TOKEN_OWNER`` row; ``ValueError`` for a bad role."""
    user_id, email, name, role, created, updated, valid_after, password_hash, jti = row
    if not is_role(role):
        raise ValueError(f"user {user_id} has an unknown role {role!r} in the database")
    user = User(user_id, email, name, role, as_utc(created), as_utc(updated))
    return TokenOwner(user, as_utc(valid_after), jti is not None, credential_version(password_hash))


class Lease(Protocol):
    """Says whether a cache fed by change notices is current (``lumiku.auth.change_feed``)."""

    def fresh(self) -> bool:
        """Return whether every change committed before the last moment counts."""
        ...


@attrs.define
class _Entry:
    owner: TokenOwner
    jtis: set[str]


class AccountCache:
    """The accounts of recent tokens (and which of their tokens are not revoked).

    Used only while ``lease.fresh()``. ``forget`` (called by the change feed for every
    notice) drops a user, or everything; an entry read before a ``forget`` that ran while
    it was being read is not stored (``generation``).
    """

    def __init__(self, lease: Lease | None = None, size: int = DEFAULT_CACHE_SIZE) -> None:
        """Hold at most ``size`` accounts; ``lease`` can be bound later (``bind``)."""
        self._lease = lease
        self._size = size
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def bind(self, lease: Lease | None) -> None:
        """Use ``lease`` from now on (``None``: the cache is off)."""
        self._lease = lease
        self.forget(None)

    def get(self, user_id: str, jti: str) -> TokenOwner | None:
        """Return the cached account of a token known not revoked, while it is exact."""
        if self._lease is None or not self._lease.fresh():
            return None
        entry = self._entries.get(user_id)
        if entry is None or jti not in entry.jtis:
            return None
        return entry.owner

    def put(self, user_id: str, jti: str, owner: TokenOwner, generation: int) -> None:
        """Store what a read begun at ``generation`` found, unless something changed since."""
        if owner.revoked or self._lease is None:
            return
        with self._lock:
            if generation != self.generation:
                return
            entry = self._entries.get(user_id)
            if entry is None or entry.owner != owner:
                if len(self._entries) >= self._size:
                    self._entries.pop(next(iter(self._entries)))
                entry = self._entries[user_id] = _Entry(owner, set())
            entry.jtis.add(jti)

    def forget(self, user_id: str | None) -> None:
        """Drop ``user_id`` (``None``: everyone) and stop reads under way from storing."""
        with self._lock:
            self.generation += 1
            if user_id is None:
                self._entries.clear()
            else:
                self._entries.pop(user_id, None)


class TokenGate:
    """Authenticate tokens from the event loop (see the module's docstring)."""

    def __init__(
        self,
        tokens: TokenService,
        reader: LoopReader,
        fallback: Callable[[str], Any],
        cache: AccountCache | None = None,
    ) -> None:
        """Verify with ``tokens``, read with ``reader``; ``fallback`` is the blocking way."""
        self._tokens = tokens
        self._reader = reader
        self._fallback = fallback
        self.cache = cache

    async def authenticate(self, token: str) -> CurrentUser:
        """Return the caller behind ``token``; raise ``Unauthorized`` if it may not be used."""
        if not self._reader.available:
            user: CurrentUser = await run_in_threadpool(self._fallback, token)
            return user
        claims = self._tokens.decode(token)
        cache = self.cache
        if cache is not None:
            cached = cache.get(claims.user_id, claims.jti)
            if cached is not None:
                return cached.admit(claims)
            generation = cache.generation
        row = await self._reader.fetch_one(
            TOKEN_OWNER, {"user_id": claims.user_id, "jti": claims.jti}
        )
        if row is None:
            raise Unauthorized(INVALID_TOKEN_MESSAGE)
        owner = owner_from(row)
        user = owner.admit(claims)
        if cache is not None:
            cache.put(claims.user_id, claims.jti, owner, generation)
        return user
