"""The account as the auth services hand it out: no password hash ever leaves the service."""

from __future__ import annotations

from datetime import datetime

import attrs

from lumiku.auth.tokens import Claims
from lumiku.roles import Role


@attrs.frozen
class User:
    """A registered account, as shown to its owner and to admins."""

    id: str
    email: str
    name: str | None
    role: Role
    created_at: datetime
    updated_at: datetime


@attrs.frozen
class CurrentUser:
    """The caller behind a valid token: the account as it is now, plus the token's claims.

    ``role`` comes from the database, not from the token, so a demotion takes effect at
    once. ``claims`` is what ``AuthService.logout`` needs to revoke this token.
    """

    id: str
    email: str
    name: str | None
    role: Role
    claims: Claims
