"""AuthService.authenticate and logout: revocation, deleted accounts, password changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lumiku.auth import AuthService, IssuedToken, TokenService, User, delete_expired_revocations
from lumiku.auth.tokens import INVALID_TOKEN_MESSAGE
from lumiku.db.tables import revoked_tokens, users
from lumiku.errors import Unauthorized
from lumiku.testing import ManualClock

PASSWORD = "violet staple orchard kettle"
NEW_PASSWORD = "granite lantern pepper swim"


@pytest.fixture
def signed_in(service: AuthService) -> tuple[User, IssuedToken]:
    return service.register("ada@example.com", PASSWORD, "Ada")


def assert_refused(service: AuthService, token: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        service.authenticate(token)
    assert caught.value.message == INVALID_TOKEN_MESSAGE


def test_a_valid_token_yields_the_current_user(
    service: AuthService, signed_in: tuple[User, IssuedToken]
) -> None:
    user, issued = signed_in
    current = service.authenticate(issued.token)
    assert (current.id, current.email, current.name, current.role) == (
        user.id,
        "ada@example.com",
        "Ada",
        "user",
    )
    assert current.claims.jti == issued.jti
    assert issued.token not in repr(current)


def test_logout_revokes_only_that_token(
    service: AuthService, signed_in: tuple[User, IssuedToken]
) -> None:
    _, first = signed_in
    _, second = service.login("ada@example.com", PASSWORD, None)
    service.logout(service.authenticate(first.token).claims)
    assert_refused(service, first.token)
    assert service.authenticate(second.token).claims.jti == second.jti
    service.logout(service.authenticate(second.token).claims)
    assert_refused(service, second.token)


def test_logout_twice_is_harmless(
    service: AuthService, tokens: TokenService, signed_in: tuple[User, IssuedToken]
) -> None:
    _, issued = signed_in
    claims = tokens.decode(issued.token)
    service.logout(claims)
    service.logout(claims)
    assert_refused(service, issued.token)


def test_the_token_of_a_deleted_account_is_refused(
    service: AuthService, engine: sa.Engine, signed_in: tuple[User, IssuedToken]
) -> None:
    user, issued = signed_in
    with engine.begin() as connection:
        connection.execute(users.delete().where(users.c.id == user.id))
    assert_refused(service, issued.token)


def test_a_password_change_ends_older_tokens_exactly(
    service: AuthService, clock: ManualClock, signed_in: tuple[User, IssuedToken]
) -> None:
    user, first = signed_in
    clock.advance(microseconds=1)
    _, just_before = service.login("ada@example.com", PASSWORD, None)
    clock.advance(microseconds=1)
    _, fresh = service.update_profile(user.id, current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert fresh is not None
    # All three lie within one second: only microseconds tell them apart.
    assert fresh.issued_at - first.issued_at < timedelta(seconds=1)
    assert first.issued_at.replace(microsecond=0) == fresh.issued_at.replace(microsecond=0)
    assert_refused(service, first.token)
    assert_refused(service, just_before.token)
    assert service.authenticate(fresh.token).id == user.id
    clock.advance(microseconds=1)
    _, after = service.login("ada@example.com", NEW_PASSWORD, None)
    assert service.authenticate(after.token).id == user.id


def test_the_role_comes_from_the_account_not_the_token(
    service: AuthService, engine: sa.Engine, signed_in: tuple[User, IssuedToken]
) -> None:
    user, issued = signed_in
    with engine.begin() as connection:
        connection.execute(users.update().where(users.c.id == user.id).values(role="admin"))
    assert service.authenticate(issued.token).role == "admin"
    assert service.authenticate(issued.token).claims.role == "user"


def test_an_expired_token_is_refused(
    service: AuthService, clock: ManualClock, signed_in: tuple[User, IssuedToken]
) -> None:
    _, issued = signed_in
    clock.now = issued.expires_at
    assert_refused(service, issued.token)


def test_a_token_for_an_unknown_user_is_refused(service: AuthService, tokens: TokenService) -> None:
    assert_refused(service, tokens.issue("00000000-0000-4000-8000-000000000000", "admin").token)


def test_garbage_is_refused_without_a_database_error(service: AuthService) -> None:
    for token in ("", "garbage", "a.b.c", "x" * 10_000):
        assert_refused(service, token)


def test_authenticate_reads_the_database_once(
    service: AuthService, engine: sa.Engine, signed_in: tuple[User, IssuedToken]
) -> None:
    _, issued = signed_in
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        service.authenticate(issued.token)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert len(statements) == 1
    assert "revoked_tokens" in statements[0]


def test_expired_revocations_are_cleaned_up(
    service: AuthService,
    engine: sa.Engine,
    tokens: TokenService,
    clock: ManualClock,
    signed_in: tuple[User, IssuedToken],
) -> None:
    _, first = signed_in
    clock.advance(minutes=30)
    _, second = service.login("ada@example.com", PASSWORD, None)
    service.logout(tokens.decode(first.token))
    service.logout(tokens.decode(second.token))
    assert delete_expired_revocations(engine, now=first.expires_at - timedelta(seconds=1)) == 0
    clock.now = first.expires_at
    assert service.delete_expired_revocations() == 1
    with engine.connect() as connection:
        left = connection.execute(sa.select(revoked_tokens.c.jti)).scalars().all()
    assert left == [second.jti]
    assert_refused(service, second.token)
