"""Accounts and authentication: argon2id passwords, HS256 tokens, login throttling.

Build the pieces in the bootstrap and hand them to ``AuthService``::

    tokens = TokenService(settings.jwt_secret, settings.jwt_expires_in)
    throttle = LoginThrottle(redis_url or "memory://", fallback=MemoryAttempts())
    auth = AuthService(engine, Argon2Hasher(), tokens, throttle, ledger.grant_welcome,
                       settings.welcome_credits)
"""

from lumiku.auth.attempts import AttemptStore, MemoryAttempts, RedisAttempts
from lumiku.auth.emails import normalize_email, validate_email
from lumiku.auth.models import CurrentUser, User
from lumiku.auth.passwords import Argon2Hasher, PasswordHasher, PasswordPolicy
from lumiku.auth.revocations import delete_expired_revocations
from lumiku.auth.service import AuthService, GrantWelcome
from lumiku.auth.throttle import Limits, LoginThrottle
from lumiku.auth.tokens import Claims, IssuedToken, TokenService
from lumiku.clock import Clock, utc_now
from lumiku.roles import ROLES, Role, require_role

__all__ = [
    "ROLES",
    "Argon2Hasher",
    "AttemptStore",
    "AuthService",
    "Claims",
    "Clock",
    "CurrentUser",
    "GrantWelcome",
    "IssuedToken",
    "Limits",
    "LoginThrottle",
    "MemoryAttempts",
    "PasswordHasher",
    "PasswordPolicy",
    "RedisAttempts",
    "Role",
    "TokenService",
    "User",
    "delete_expired_revocations",
    "normalize_email",
    "require_role",
    "utc_now",
    "validate_email",
]
