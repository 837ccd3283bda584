"""Build the auth service from settings (shared by the app and the CLI)."""

from __future__ import annotations

import sqlalchemy as sa

from lumiku.auth.attempts import MemoryAttempts
from lumiku.auth.passwords import Argon2Hasher
from lumiku.auth.service import AuthService
from lumiku.auth.throttle import LoginThrottle
from lumiku.auth.tokens import TokenService
from lumiku.clock import Clock, utc_now
from lumiku.ledger.service import Ledger
from lumiku.settings import Settings


def build_auth(
    engine: sa.Engine, settings: Settings, ledger: Ledger, clock: Clock = utc_now
) -> AuthService:
    """Build the auth service on ``clock``; login failures are counted in Redis when it is on."""

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
    )
