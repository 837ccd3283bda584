"""Revoked tokens: a logout stores the token's ``jti`` until the token would expire anyway."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lumiku.auth.tokens import Claims
from lumiku.db.tables import revoked_tokens


def revoke(engine: sa.Engine, claims: Claims) -> None:
    """Revoke the token described by ``claims``; revoking it twice is not an error."""
    try:
        with engine.begin() as connection:
            connection.execute(
                revoked_tokens.insert().values(
                    jti=claims.jti,
                    user_id=claims.user_id,
                    expires_at=claims.expires_at,
                )
            )
    except IntegrityError:
        # The primary key says it is revoked already, which is what the caller wants.
        return


def delete_expired_revocations(engine: sa.Engine, *, now: datetime) -> int:
    """Forget revocations of tokens that expired before ``now``; return how many.

    An expired token is refused for its ``exp`` alone, so its revocation row is dead
    weight. Run this periodically (a worker actor or cron); it uses the ``expires_at`` index.
    """
    with engine.begin() as connection:
        result = connection.execute(
            revoked_tokens.delete().where(revoked_tokens.c.expires_at <= now)
        )
    return int(result.rowcount)
