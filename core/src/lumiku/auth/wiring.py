"""Build the auth service from settings (shared by the app and the CLI)."""

from __future__ import annotations

import sqlalchemy as sa

from lumiku.auth.attempts import MemoryAttempts
from lumiku.auth.passwords import Argon2Hasher
from lumiku.auth.service import AuthService, TokensChanged
from lumiku.auth.throttle import LoginThrottle
from lumiku.auth.tokens import TokenService
from lumiku.clock import Clock, utc_now
from lumiku.db.engine import is_sqlite
from lumiku.ledger.service import Ledger
from lumiku.settings import Settings


def build_auth(
    engine: sa.Engine,
    settings: Settings,
    ledger: Ledger,
    clock: Clock = utc_now,
    *,
    tokens_changed: TokensChanged | None = None,
) -> AuthService:
    """Build the auth service on ``clock``; login failures are counted in Redis when it is on.

    ``tokens_changed`` closes revoked tokens' sockets (the app binds it to its server); a
    process without a server (the CLI) tells the servers through Redis when it is on. On
    PostgreSQL a revoking call waits out the account caches' lease before it returns
    (``lumiku.auth.change_feed``); SQLite's processes keep no cache.
    """
    from lumiku.auth.change_feed import settle

    if tokens_changed is None and settings.redis.url:
        from lumiku.realtime.revocations import RedisRevocations
        from lumiku.realtime.server import DEFAULT_CHANNEL

        tokens_changed = RedisRevocations(settings.redis.url, DEFAULT_CHANNEL).tokens_changed

    def grant_welcome(user_id: str, amount: int) -> None:
        ledger.grant(user_id, amount, "welcome credits", f"welcome:{user_id}", kind="welcome")

    throttle = LoginThrottle(
        settings.redis.url or "memory://", fallback=MemoryAttempts(), clock=clock
    )
    return AuthService(
        engine,
        Argon2Hasher(),
        TokenService(settings.jwt_secret, settings.jwt_expires_in, clock),
        throttle,
        grant_welcome,
        settings.welcome_credits,
        clock,
        tokens_changed=tokens_changed,
        settle=None if is_sqlite(engine) else settle,
    )
