"""AuthService.login: one message and one verification for every failure, and throttling."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lumiku.auth import Argon2Hasher, AuthService, LoginThrottle, TokenService, User
from lumiku.auth.service import WRONG_CREDENTIALS
from lumiku.db.tables import users
from lumiku.errors import RateLimited, Unauthorized
from lumiku.testing import ManualClock

from .conftest import CountingHasher, WelcomeGrants

PASSWORD = "violet staple orchard kettle"
IP = "203.0.113.5"


@pytest.fixture
def ada(service: AuthService) -> User:
    user, _ = service.register("ada@example.com", PASSWORD, "Ada")
    return user


def test_login_returns_the_account_and_a_fresh_token(
    service: AuthService, ada: User, tokens: TokenService
) -> None:
    user, issued = service.login(" ADA@example.com", PASSWORD, IP)
    assert user == ada
    assert tokens.decode(issued.token).user_id == ada.id
    assert service.authenticate(issued.token).email == "ada@example.com"


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@example.com", "wrong password entirely"),
        ("ada@example.com", PASSWORD.upper()),
        ("ada@example.com", ""),
        ("nobody@example.com", PASSWORD),
        ("not even an email", PASSWORD),
        ("", ""),
    ],
)
def test_every_failure_looks_the_same_and_costs_one_verification(
    service: AuthService, ada: User, hasher: CountingHasher, email: str, password: str
) -> None:
    before = hasher.verifications
    with pytest.raises(Unauthorized) as caught:
        service.login(email, password, IP)
    assert caught.value.message == WRONG_CREDENTIALS
    assert caught.value.details == {}
    assert hasher.verifications - before == 1


def test_unknown_email_is_verified_against_a_real_argon2_hash(
    engine: sa.Engine,
    tokens: TokenService,
    throttle: LoginThrottle,
    grants: WelcomeGrants,
    clock: ManualClock,
) -> None:
    class Recording(Argon2Hasher):
        def __init__(self) -> None:
            super().__init__(time_cost=1, memory_cost=8, parallelism=1)
            self.checked: list[str] = []

        def verify(self, password_hash: str, password: str) -> bool:
            self.checked.append(password_hash)
            return super().verify(password_hash, password)

    hasher = Recording()
    service = AuthService(engine, hasher, tokens, throttle, grants, 100, clock)
    with pytest.raises(Unauthorized):
        service.login("nobody@example.com", PASSWORD, IP)
    assert hasher.checked[0].startswith("$argon2id$v=19$m=8,t=1,p=1$")


def test_guesses_from_elsewhere_do_not_lock_the_owner_out(
    service: AuthService, ada: User, hasher: CountingHasher
) -> None:
    service.login("ada@example.com", PASSWORD, IP)  # the owner's address becomes familiar
    for attempt in range(110):  # anyone, from anywhere
        with pytest.raises((Unauthorized, RateLimited)):
            service.login("ada@example.com", "wrong password entirely", f"10.0.{attempt}.1")
    before = hasher.verifications
    with pytest.raises(RateLimited) as caught:
        service.login("ada@example.com", PASSWORD, "10.0.99.1")  # unfamiliar: slowed
    assert caught.value.retry_after > 0
    assert hasher.verifications == before  # refused before any verification
    user, _ = service.login("ada@example.com", PASSWORD, IP)
    assert user == ada


def test_five_failures_from_one_address_slow_that_address_for_that_account(
    service: AuthService, ada: User, hasher: CountingHasher
) -> None:
    for _ in range(5):
        with pytest.raises(Unauthorized):
            service.login("ada@example.com", "wrong password entirely", "10.0.0.1")
    before = hasher.verifications
    with pytest.raises(RateLimited):
        service.login("ada@example.com", PASSWORD, "10.0.0.1")
    assert hasher.verifications == before
    service.login("ada@example.com", PASSWORD, IP)


def test_one_address_guessing_many_accounts_is_throttled(service: AuthService, ada: User) -> None:
    service.login("ada@example.com", PASSWORD, IP)
    for attempt in range(20):
        with pytest.raises(Unauthorized):
            service.login(f"guess{attempt}@example.com", PASSWORD, IP)
    with pytest.raises(RateLimited):
        service.login("guess99@example.com", PASSWORD, IP)
    service.login("ada@example.com", PASSWORD, IP)  # a familiar account at that address


def test_a_success_resets_the_email_count(service: AuthService, ada: User) -> None:
    for _ in range(4):
        with pytest.raises(Unauthorized):
            service.login("ada@example.com", "wrong password entirely", None)
    service.login("ada@example.com", PASSWORD, None)
    for _ in range(4):
        with pytest.raises(Unauthorized):
            service.login("ada@example.com", "wrong password entirely", None)
    service.login("ada@example.com", PASSWORD, None)


def test_the_lock_lifts_after_the_window(
    engine: sa.Engine,
    hasher: CountingHasher,
    tokens: TokenService,
    grants: WelcomeGrants,
    clock: ManualClock,
) -> None:
    throttle = LoginThrottle("memory://", clock=clock)
    service = AuthService(engine, hasher, tokens, throttle, grants, 100, clock)
    service.register("ada@example.com", PASSWORD, None)
    for _ in range(5):
        with pytest.raises(Unauthorized):
            service.login("ada@example.com", "wrong password entirely", IP)
    with pytest.raises(RateLimited):
        service.login("ada@example.com", PASSWORD, IP)
    clock.advance(minutes=15)
    service.login("ada@example.com", PASSWORD, IP)


def test_old_hashes_are_upgraded_at_login(
    engine: sa.Engine,
    tokens: TokenService,
    throttle: LoginThrottle,
    grants: WelcomeGrants,
    clock: ManualClock,
) -> None:
    weak = Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1)
    AuthService(engine, weak, tokens, throttle, grants, 100, clock).register(
        "ada@example.com", PASSWORD, None
    )
    stronger = Argon2Hasher(time_cost=1, memory_cost=16, parallelism=1)
    AuthService(engine, stronger, tokens, throttle, grants, 100, clock).login(
        "ada@example.com", PASSWORD, IP
    )
    with engine.connect() as connection:
        stored = connection.execute(sa.select(users.c.password_hash)).scalar_one()
    assert "$m=16,t=1,p=1$" in stored
