"""SQL for users: the ``users`` rows the auth service reads and writes, and nothing else.

Rows come back as ``User`` (public) or ``StoredUser`` (the user plus the password hash,
which never leaves the auth package). Times are written in UTC and read back aware; SQLite
drops the zone, so naive values are taken as UTC.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lumiku.auth.models import CurrentUser, User
from lumiku.auth.tokens import INVALID_TOKEN_MESSAGE, Claims, credential_version
from lumiku.db.tables import revoked_tokens, users
from lumiku.errors import Unauthorized
from lumiku.roles import Role, is_role

_USER_COLUMNS = (
    users.c.id,
    users.c.email,
    users.c.name,
    users.c.role,
    users.c.created_at,
    users.c.updated_at,
)


class EmailTakenError(Exception):
    """The unique index on ``users.email`` refused the write."""


@attrs.frozen
class StoredUser:
    """An account with its password hash, for verification inside the auth package."""

    user: User
    password_hash: str = attrs.field(repr=False)


@attrs.frozen
class TokenOwner:
    """What ``authenticate`` needs about a token's account, read in one query."""

    user: User
    tokens_valid_after: datetime
    revoked: bool
    credential: str

    def admit(self, claims: Claims) -> CurrentUser:
        """Return the caller of a verified token; raise ``Unauthorized`` if it may not be used.

        Refused: a revoked token, one issued before the account's last password change or
        for another password than the current one (a login racing a password change).
        """
        if (
            self.revoked
            or claims.issued_at < self.tokens_valid_after
            or not hmac.compare_digest(claims.credential, self.credential)
        ):
            raise Unauthorized(INVALID_TOKEN_MESSAGE)
        user = self.user
        return CurrentUser(
            id=user.id, email=user.email, name=user.name, role=user.role, claims=claims
        )


def _role(value: object, user_id: str) -> Role:
    if not is_role(value):
        raise ValueError(f"user {user_id} has an unknown role {value!r} in the database")
    return value


def _user(row: sa.RowMapping) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=_role(row["role"], row["id"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class UserStore:
    """Read and write ``users`` rows through one engine."""

    def __init__(self, engine: sa.Engine) -> None:
        """Use ``engine`` for every query."""
        self._engine = engine

    def insert(self, user: User, password_hash: str, tokens_valid_after: datetime) -> None:
        """Insert ``user``; raise ``EmailTakenError`` if its email is in use."""
        row = {
            "id": user.id,
            "email": user.email,
            "password_hash": password_hash,
            "name": user.name,
            "role": user.role,
            "tokens_valid_after": tokens_valid_after,
            "created_at": user.created_at,
            "updated_at": user.updated_at,
        }
        try:
            with self._engine.begin() as connection:
                connection.execute(users.insert().values(**row))
        except IntegrityError:
            if self.email_taken(user.email):
                raise EmailTakenError(user.email) from None
            raise

    def email_taken(self, email: str, *, other_than: str | None = None) -> bool:
        """Return whether an account (other than ``other_than``) uses ``email``."""
        query = sa.select(users.c.id).where(users.c.email == email)
        if other_than is not None:
            query = query.where(users.c.id != other_than)
        with self._engine.connect() as connection:
            return connection.execute(query).first() is not None

    def find(self, user_id: str) -> User | None:
        """Return the account ``user_id``, or ``None``."""
        with self._engine.connect() as connection:
            row = connection.execute(sa.select(*_USER_COLUMNS).where(users.c.id == user_id))
            found = row.mappings().first()
        return None if found is None else _user(found)

    def find_stored(
        self, *, user_id: str | None = None, email: str | None = None
    ) -> StoredUser | None:
        """Return the account with its hash, by ``user_id`` or by ``email``."""
        column, value = (users.c.id, user_id) if user_id is not None else (users.c.email, email)
        query = sa.select(*_USER_COLUMNS, users.c.password_hash).where(column == value)
        with self._engine.connect() as connection:
            found = connection.execute(query).mappings().first()
        if found is None:
            return None
        return StoredUser(user=_user(found), password_hash=found["password_hash"])

    def token_owner(self, user_id: str, jti: str) -> TokenOwner | None:
        """Return the account behind a token and whether ``jti`` is revoked (one query).

        Both lookups are primary-key probes: ``users.id`` joined to ``revoked_tokens.jti``.
        """
        query = (
            sa.select(
                *_USER_COLUMNS,
                users.c.tokens_valid_after,
                users.c.password_hash,
                revoked_tokens.c.jti.label("revoked_jti"),
            )
            .select_from(users.outerjoin(revoked_tokens, revoked_tokens.c.jti == jti))
            .where(users.c.id == user_id)
        )
        with self._engine.connect() as connection:
            found = connection.execute(query).mappings().first()
        if found is None:
            return None
        return TokenOwner(
            user=_user(found),
            tokens_valid_after=found["tokens_valid_after"],
            revoked=found["revoked_jti"] is not None,
            credential=credential_version(found["password_hash"]),
        )

    def update(
        self,
        user_id: str,
        values: Mapping[str, object],
        *,
        expected_hash: str | None = None,
    ) -> bool:
        """Write ``values``; return ``False`` if no row matched.

        With ``expected_hash`` the row is updated only while its password hash is still that
        one, so a change checked against an old password cannot land after another change.
        Raises ``EmailTakenError`` if a new email is in use.
        """
        condition = users.c.id == user_id
        if expected_hash is not None:
            condition = condition & (users.c.password_hash == expected_hash)
        try:
            with self._engine.begin() as connection:
                result = connection.execute(users.update().where(condition).values(**values))
        except IntegrityError:
            email = values.get("email")
            if isinstance(email, str) and self.email_taken(email, other_than=user_id):
                raise EmailTakenError(email) from None
            raise
        return bool(result.rowcount)

    def list_all(self) -> list[User]:
        """Return every account, oldest first (for ``lumiku users list``)."""
        query = sa.select(*_USER_COLUMNS).order_by(users.c.created_at, users.c.id)
        with self._engine.connect() as connection:
            return [_user(row) for row in connection.execute(query).mappings()]
