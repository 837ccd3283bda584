"""AuthService.register and create_user: validation, uniqueness, welcome credits."""

from __future__ import annotations

import logging
import threading

import pytest
import sqlalchemy as sa

from lumiku.auth import AuthService, LoginThrottle, TokenService
from lumiku.db.tables import users
from lumiku.errors import Conflict, ValidationFailed
from lumiku.testing import ManualClock

from .conftest import CountingHasher, WelcomeGrants

PASSWORD = "violet staple orchard kettle"


def count_users(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())


def test_register_creates_the_account_and_signs_it_in(
    service: AuthService, tokens: TokenService, clock: ManualClock, grants: WelcomeGrants
) -> None:
    user, issued = service.register("  Ada.Lovelace@Example.COM ", PASSWORD, "  Ada  ")
    assert user.email == "ada.lovelace@example.com"
    assert user.name == "Ada"
    assert user.role == "user"
    assert user.created_at == user.updated_at == clock()
    assert tokens.decode(issued.token).user_id == user.id
    assert service.authenticate(issued.token).id == user.id
    assert grants.calls == [(user.id, 100)]
    assert service.get_profile(user.id) == user


def test_the_password_is_stored_hashed_and_never_shown(
    service: AuthService, engine: sa.Engine
) -> None:
    user, _ = service.register("ada@example.com", PASSWORD, None)
    with engine.connect() as connection:
        stored = connection.execute(
            sa.select(users.c.password_hash).where(users.c.id == user.id)
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert "argon2" not in repr(user)
    assert "password" not in repr(user).lower()


def test_a_taken_email_is_a_conflict_whatever_its_case(
    service: AuthService, engine: sa.Engine, grants: WelcomeGrants
) -> None:
    service.register("ada@example.com", PASSWORD, None)
    with pytest.raises(Conflict) as caught:
        service.register("ADA@Example.com", "another fine passphrase", None)
    assert caught.value.details == {"fields": {"email": "is taken"}}
    assert count_users(engine) == 1
    assert len(grants.calls) == 1


def test_concurrent_registrations_of_one_email_make_one_account(
    service: AuthService, engine: sa.Engine, grants: WelcomeGrants
) -> None:
    attempts = 8
    barrier = threading.Barrier(attempts)
    created: list[str] = []
    conflicts: list[Conflict] = []
    unexpected: list[BaseException] = []

    def register(n: int) -> None:
        barrier.wait()
        try:
            user, _ = service.register("race@example.com", f"{PASSWORD} {n}", f"racer {n}")
        except Conflict as exc:
            conflicts.append(exc)
        except BaseException as exc:  # noqa: BLE001 - a thread cannot raise into the test; asserted below
            unexpected.append(exc)
        else:
            created.append(user.id)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert unexpected == []
    assert len(created) == 1
    assert len(conflicts) == attempts - 1
    assert count_users(engine) == 1
    assert grants.calls == [(created[0], 100)]


@pytest.mark.parametrize(
    ("email", "password", "name", "field"),
    [
        ("not-an-email", PASSWORD, None, "email"),
        ("", PASSWORD, None, "email"),
        ("ada@localhost", PASSWORD, None, "email"),
        ("ada@example.com", "short", None, "password"),
        ("ada@example.com", "Password1234!", None, "password"),
        ("ada@example.com", "ada@example.com", None, "password"),
        ("ada@example.com", PASSWORD, "n" * 101, "name"),
        ("ada@example.com", PASSWORD, "bell\x07", "name"),
    ],
)
def test_invalid_input_is_refused_with_the_field(
    service: AuthService,
    engine: sa.Engine,
    grants: WelcomeGrants,
    email: str,
    password: str,
    name: str | None,
    field: str,
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        service.register(email, password, name)
    assert list(caught.value.details["fields"]) == [field]
    assert count_users(engine) == 0
    assert grants.calls == []


def test_an_empty_name_is_stored_as_none(service: AuthService) -> None:
    user, _ = service.register("ada@example.com", PASSWORD, "   ")
    assert user.name is None


def test_create_user_makes_admins_for_the_cli(service: AuthService) -> None:
    admin = service.create_user("root@example.com", PASSWORD, "admin")
    assert admin.role == "admin"
    assert service.get_profile(admin.id).role == "admin"
    with pytest.raises(Conflict):
        service.create_user("ROOT@example.com", PASSWORD, "user")
    with pytest.raises(ValueError, match="unknown role"):
        service.create_user("other@example.com", PASSWORD, "ADMIN")  # type: ignore[arg-type]


def test_a_failing_welcome_grant_is_logged_not_raised(
    engine: sa.Engine,
    hasher: CountingHasher,
    tokens: TokenService,
    throttle: LoginThrottle,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(user_id: str, amount: int) -> None:
        raise RuntimeError("ledger is down")

    service = AuthService(engine, hasher, tokens, throttle, broken, 100, clock)
    with caplog.at_level(logging.ERROR):
        user, issued = service.register("ada@example.com", PASSWORD, None)
    assert service.authenticate(issued.token).id == user.id
    assert f"not granted to user {user.id}" in caplog.text


def test_no_grant_when_welcome_credits_are_zero(
    engine: sa.Engine,
    hasher: CountingHasher,
    tokens: TokenService,
    throttle: LoginThrottle,
    grants: WelcomeGrants,
    clock: ManualClock,
) -> None:
    service = AuthService(engine, hasher, tokens, throttle, grants, 0, clock)
    service.register("ada@example.com", PASSWORD, None)
    assert grants.calls == []
