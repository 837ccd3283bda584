"""AuthService.get_profile and update_profile."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lumiku.auth import AuthService, IssuedToken, User
from lumiku.db.tables import users
from lumiku.errors import Conflict, NotFound, RateLimited, Unauthorized, ValidationFailed
from lumiku.testing import ManualClock

from .conftest import CountingHasher

PASSWORD = "violet staple orchard kettle"
NEW_PASSWORD = "granite lantern pepper swim"
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def ada(service: AuthService) -> tuple[User, IssuedToken]:
    return service.register("ada@example.com", PASSWORD, "Ada")


def test_get_profile_of_a_missing_account_is_not_found(service: AuthService) -> None:
    with pytest.raises(NotFound):
        service.get_profile(MISSING)
    with pytest.raises(NotFound):
        service.update_profile(MISSING, name="Ghost")


def test_renaming_needs_no_password_and_keeps_tokens(
    service: AuthService, clock: ManualClock, ada: tuple[User, IssuedToken]
) -> None:
    user, issued = ada
    clock.advance(seconds=5)
    updated, token = service.update_profile(user.id, name="  Countess Lovelace ")
    assert token is None
    assert updated.name == "Countess Lovelace"
    assert updated.updated_at == clock()
    assert updated.created_at == user.created_at
    assert service.authenticate(issued.token).name == "Countess Lovelace"
    cleared, _ = service.update_profile(user.id, name="")
    assert cleared.name is None


def test_no_changes_change_nothing(service: AuthService, ada: tuple[User, IssuedToken]) -> None:
    user, _ = ada
    assert service.update_profile(user.id) == (user, None)
    assert service.update_profile(user.id, email="ADA@example.com") == (user, None)


def test_changing_the_email_needs_the_current_password(
    service: AuthService, ada: tuple[User, IssuedToken]
) -> None:
    user, issued = ada
    with pytest.raises(ValidationFailed) as caught:
        service.update_profile(user.id, email="lovelace@example.com")
    assert caught.value.details["fields"] == {
        "currentPassword": "is required to change the email or password"
    }
    updated, token = service.update_profile(
        user.id, email=" Lovelace@Example.com", current_password=PASSWORD
    )
    assert (updated.email, token) == ("lovelace@example.com", None)
    assert service.authenticate(issued.token).email == "lovelace@example.com"
    service.login("lovelace@example.com", PASSWORD, None)
    with pytest.raises(Unauthorized):
        service.login("ada@example.com", PASSWORD, None)


def test_changing_to_a_taken_email_is_a_conflict(
    service: AuthService, ada: tuple[User, IssuedToken]
) -> None:
    user, _ = ada
    service.register("babbage@example.com", NEW_PASSWORD, None)
    with pytest.raises(Conflict) as caught:
        service.update_profile(user.id, email="BABBAGE@example.com", current_password=PASSWORD)
    assert caught.value.details == {"fields": {"email": "is taken"}}
    assert service.get_profile(user.id).email == "ada@example.com"


def test_a_wrong_current_password_is_refused_and_counted(
    service: AuthService, hasher: CountingHasher, ada: tuple[User, IssuedToken]
) -> None:
    user, _ = ada
    for _ in range(5):
        with pytest.raises(ValidationFailed) as caught:
            service.update_profile(
                user.id, current_password="not my password", new_password=NEW_PASSWORD
            )
        assert caught.value.details == {"fields": {"currentPassword": "is incorrect"}}
    before = hasher.verifications
    with pytest.raises(RateLimited):
        service.update_profile(user.id, current_password=PASSWORD, new_password=NEW_PASSWORD)
    with pytest.raises(RateLimited):
        service.login("ada@example.com", PASSWORD, None)
    assert hasher.verifications == before


def test_a_password_change_returns_a_token_and_ends_the_old_ones(
    service: AuthService, ada: tuple[User, IssuedToken]
) -> None:
    user, issued = ada
    updated, token = service.update_profile(
        user.id, current_password=PASSWORD, new_password=NEW_PASSWORD
    )
    assert token is not None
    assert service.authenticate(token.token).id == user.id
    with pytest.raises(Unauthorized):
        service.authenticate(issued.token)
    with pytest.raises(Unauthorized):
        service.login("ada@example.com", PASSWORD, None)
    service.login("ada@example.com", NEW_PASSWORD, None)
    assert updated.email == user.email


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"new_password": "short"}, {"newPassword"}),
        ({"new_password": "Password1234!"}, {"newPassword"}),
        ({"new_password": "ada@example.com"}, {"newPassword"}),
        (
            {"email": "lovelace@example.com", "new_password": "lovelace@example.com"},
            {"newPassword"},
        ),
        ({"email": "nope"}, {"email"}),
        (
            {"name": "x" * 101, "email": "nope", "new_password": "short"},
            {"name", "email", "newPassword"},
        ),
    ],
)
def test_invalid_changes_name_every_bad_field(
    service: AuthService,
    ada: tuple[User, IssuedToken],
    changes: dict[str, str],
    fields: set[str],
) -> None:
    user, _ = ada
    with pytest.raises(ValidationFailed) as caught:
        service.update_profile(user.id, current_password=PASSWORD, **changes)
    assert set(caught.value.details["fields"]) == fields
    assert service.get_profile(user.id) == user


def test_a_change_checked_against_a_replaced_password_does_not_land(
    service: AuthService, engine: sa.Engine, hasher: CountingHasher, ada: tuple[User, IssuedToken]
) -> None:
    user, _ = ada

    def change_password_meanwhile() -> None:
        with engine.begin() as connection:
            connection.execute(
                users.update().where(users.c.id == user.id).values(password_hash="replaced")
            )

    hasher.during_verify = change_password_meanwhile
    with pytest.raises(Conflict):
        service.update_profile(user.id, current_password=PASSWORD, new_password=NEW_PASSWORD)
    with engine.connect() as connection:
        stored = connection.execute(sa.select(users.c.password_hash)).scalar_one()
    assert stored == "replaced"


def test_a_login_racing_a_password_change_gets_no_usable_token(
    service: AuthService,
    hasher: CountingHasher,
    clock: ManualClock,
    ada: tuple[User, IssuedToken],
) -> None:
    user, first = ada
    changed: list[IssuedToken | None] = []

    def change_password_meanwhile() -> None:
        hasher.during_verify = None
        changed.append(
            service.update_profile(user.id, current_password=PASSWORD, new_password=NEW_PASSWORD)[1]
        )
        clock.advance(seconds=1)  # the login's token is issued after the change

    hasher.during_verify = change_password_meanwhile
    _, racing = service.login("ada@example.com", PASSWORD, "203.0.113.9")
    assert changed
    assert changed[0] is not None
    with pytest.raises(Unauthorized):
        service.authenticate(racing.token)  # verified the old password: refused
    with pytest.raises(Unauthorized):
        service.authenticate(first.token)
    assert service.authenticate(changed[0].token).id == user.id
    _, fresh = service.login("ada@example.com", NEW_PASSWORD, "203.0.113.9")
    assert service.authenticate(fresh.token).id == user.id


def test_the_address_of_an_email_change_is_familiar_for_the_new_email(
    service: AuthService, ada: tuple[User, IssuedToken]
) -> None:
    user, _ = ada
    service.update_profile(
        user.id, email="countess@example.com", current_password=PASSWORD, client_ip="192.0.2.7"
    )
    for n in range(110):  # guesses at the new email from everywhere else
        with pytest.raises((Unauthorized, RateLimited)):
            service.login("countess@example.com", "wrong password entirely", f"10.1.{n}.1")
    with pytest.raises(RateLimited):
        service.login("countess@example.com", PASSWORD, "10.2.0.1")
    assert service.login("countess@example.com", PASSWORD, "192.0.2.7")[0].id == user.id


def test_registering_makes_the_address_familiar(service: AuthService) -> None:
    user, _ = service.register("grace@example.com", PASSWORD, None, "192.0.2.8")
    for n in range(110):
        with pytest.raises((Unauthorized, RateLimited)):
            service.login("grace@example.com", "wrong password entirely", f"10.3.{n}.1")
    assert service.login("grace@example.com", PASSWORD, "192.0.2.8")[0].id == user.id
