"""Fixtures of the ledger tests: a migrated database, a settable clock, users, an audit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from lumiku.db import create_engine, migrate
from lumiku.db.tables import users
from lumiku.ledger import Ledger
from lumiku.ledger.tables import credit_accounts, credit_entries, credit_holds
from lumiku.testing import ManualClock
from lumiku.testing.templates import TestDatabases

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def migrated_engine(url: str) -> sa.Engine:
    """Return an engine on ``url`` with the core migrations applied."""
    engine = create_engine(url, pool_size=20)
    migrate.upgrade(engine, [migrate.core_source()])
    return engine


def insert_user(engine: sa.Engine) -> str:
    """Insert a user row and return its id."""
    user_id = str(uuid.uuid4())
    with engine.begin() as connection:
        connection.execute(
            sa.insert(users).values(
                id=user_id,
                email=f"{user_id}@example.test",
                password_hash="x",
                role="user",
                tokens_valid_after=START,
                created_at=START,
                updated_at=START,
            )
        )
    return user_id


def audit(engine: sa.Engine, user_id: str) -> tuple[int, int]:
    """Assert the account's invariants and return its (balance, held)."""
    with engine.connect() as connection:
        account = connection.execute(
            sa.select(credit_accounts.c.balance, credit_accounts.c.held).where(
                credit_accounts.c.user_id == user_id
            )
        ).first()
        entries = connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(credit_entries.c.amount), 0)).where(
                credit_entries.c.user_id == user_id
            )
        ).scalar_one()
        open_holds = connection.execute(
            sa.select(sa.func.coalesce(sa.func.sum(credit_holds.c.amount), 0)).where(
                credit_holds.c.user_id == user_id, credit_holds.c.status == "held"
            )
        ).scalar_one()
    balance, held = (0, 0) if account is None else (int(account.balance), int(account.held))
    assert balance == int(entries), "the balance must equal the sum of the entries"
    assert held == int(open_holds), "held must equal the sum of the open holds"
    assert 0 <= held <= balance
    return balance, held


@pytest.fixture(scope="session")
def shared_engine(
    lumiku_databases: TestDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[sa.Engine]:
    """Yield an engine on one migrated database of the backend under test, for the session.

    Tests on it create their own users, so they only share tables, never accounts.
    """
    directory = tmp_path_factory.mktemp("ledger")
    with lumiku_databases.migrated(directory, [migrate.core_source()]) as url:
        engine = create_engine(url, pool_size=20)
        yield engine
        engine.dispose()


@pytest.fixture
def ledger_engine(shared_engine: sa.Engine) -> sa.Engine:
    """Return the engine the ledger under test runs on.

    Modules whose tests look at every account (sweeper, reconciliation) override this
    with a fresh database per test.
    """
    return shared_engine


@pytest.fixture
def fresh_engine(migrated_database_url: str) -> Iterator[sa.Engine]:
    """Yield an engine on a fresh, migrated database of the backend under test."""
    engine = create_engine(migrated_database_url, pool_size=20)
    yield engine
    engine.dispose()


@pytest.fixture
def key() -> Callable[[str], str]:
    """Return a function that makes idempotency keys unique to this test (keys are global)."""
    prefix = uuid.uuid4().hex[:12]
    return lambda name: f"{prefix}:{name}"


@pytest.fixture
def clock() -> ManualClock:
    """Return a clock that stands still at ``START`` until moved."""
    return ManualClock(START)


@pytest.fixture
def ledger(ledger_engine: sa.Engine, clock: ManualClock) -> Ledger:
    """Return a ledger on the test database, on the fake clock."""
    return Ledger(ledger_engine, clock)


@pytest.fixture
def new_user(ledger_engine: sa.Engine) -> Callable[[], str]:
    """Return a function that creates a user and returns its id."""
    return lambda: insert_user(ledger_engine)


@pytest.fixture
def user(new_user: Callable[[], str]) -> str:
    """Return the id of a new user without an account."""
    return new_user()


@pytest.fixture
def funded(ledger: Ledger, user: str) -> str:
    """Return the id of a user granted 100 credits."""
    ledger.grant(user, 100, "test credits", f"fund:{user}")
    return user


@pytest.fixture
def check(ledger_engine: sa.Engine) -> Callable[[str], tuple[int, int]]:
    """Return a function that checks an account's invariants and returns (balance, held)."""
    return lambda user_id: audit(ledger_engine, user_id)
