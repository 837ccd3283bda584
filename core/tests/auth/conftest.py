"""Fixtures for the auth tests: a migrated database, a fake clock, a counting hasher."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from lumiku.auth import Argon2Hasher, AuthService, LoginThrottle, MemoryAttempts, TokenService
from lumiku.db import create_engine
from lumiku.testing import ManualClock

SECRET = "test-secret-0123456789-abcdefghijklmnop"
START = datetime(2026, 1, 15, 9, 30, 0, 123456, tzinfo=UTC)
GOOD_PASSWORD = "violet staple orchard kettle"
OTHER_PASSWORD = "granite lantern pepper swim"


class CountingHasher:
    """A cheap argon2id hasher that counts its calls (fakes over mocks)."""

    def __init__(self) -> None:
        self._inner = Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1)
        self.hashes = 0
        self.verifications = 0
        # Runs inside verify(): lets a test make something happen "meanwhile".
        self.during_verify: Callable[[], None] | None = None

    def hash(self, password: str) -> str:
        self.hashes += 1
        return self._inner.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        if self.during_verify is not None:
            self.during_verify()
        return self._inner.verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._inner.needs_rehash(password_hash)


class WelcomeGrants:
    """Records ``grant_welcome`` calls, as the ledger would, idempotently per user."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, user_id: str, amount: int) -> None:
        self.calls.append((user_id, amount))


@pytest.fixture
def engine(migrated_database_url: str) -> Iterator[sa.Engine]:
    """Yield an engine on a fresh database with the core schema."""
    engine = create_engine(migrated_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """Return a clock stopped at ``START``."""
    return ManualClock(START)


@pytest.fixture
def hasher() -> CountingHasher:
    """Return a cheap, counting hasher."""
    return CountingHasher()


@pytest.fixture
def tokens(clock: ManualClock) -> TokenService:
    """Return a token service on the fake clock, tokens valid for one hour."""
    return TokenService(SECRET, 3600, clock)


@pytest.fixture
def throttle(clock: ManualClock) -> LoginThrottle:
    """Return a login throttle counting in memory, on the fake clock."""
    return LoginThrottle(MemoryAttempts(), clock=clock)


@pytest.fixture
def grants() -> WelcomeGrants:
    """Return the fake welcome-credit grant."""
    return WelcomeGrants()


@pytest.fixture
def service(
    engine: sa.Engine,
    hasher: CountingHasher,
    tokens: TokenService,
    throttle: LoginThrottle,
    grants: WelcomeGrants,
    clock: ManualClock,
) -> AuthService:
    """Return the auth service wired to fakes and a real database."""
    return AuthService(engine, hasher, tokens, throttle, grants, 100, clock)
