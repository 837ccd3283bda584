"""The PostgreSQL hot path: statements on the pooled driver connection, in autocommit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from lumiku.clock import utc_now
from lumiku.db import create_engine, migrate
from lumiku.errors import InsufficientCredits
from lumiku.ledger import Ledger
from lumiku.ledger.store import Store

from .conftest import audit, insert_user


@pytest.fixture
def one_connection(postgres_url: str) -> Iterator[sa.Engine]:
    """Yield a migrated PostgreSQL engine that reuses one connection for sequential work."""
    engine = create_engine(postgres_url, pool_size=1)
    migrate.upgrade(engine, [migrate.core_source()])
    yield engine
    engine.dispose()


def _autocommit(engine: sa.Engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.connection.driver_connection.autocommit)  # type: ignore[union-attr]


def _zero_the_balances_then_fail(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE credit_accounts SET balance = 0"))
        _ = 1 / 0


def test_connection_goes_back_to_the_pool_out_of_autocommit(one_connection: sa.Engine) -> None:
    ledger = Ledger(one_connection)
    user_id = insert_user(one_connection)
    ledger.grant(user_id, 10, "credits", "fund")
    ledger.spend(user_id, 1, "upload", "spend")
    ledger.spend(user_id, 1, "upload", "spend")  # a retry: the statement fails on the key
    with pytest.raises(InsufficientCredits):
        ledger.spend(user_id, 100, "upload", "too-much")

    assert not _autocommit(one_connection)
    with pytest.raises(ZeroDivisionError):
        _zero_the_balances_then_fail(one_connection)
    assert audit(one_connection, user_id) == (9, 0)


def test_driver_errors_are_raised_as_sqlalchemy_errors(one_connection: sa.Engine) -> None:
    store = Store.build(one_connection, utc_now)

    with pytest.raises(sa.exc.DataError):
        store.fetch_one("SELECT 1 / %(zero)s", {"zero": 0})

    assert not _autocommit(one_connection)
    assert store.fetch_one("SELECT %(one)s::int", {"one": 1}) == (1,)


def test_a_connection_that_died_is_discarded(one_connection: sa.Engine) -> None:
    store = Store.build(one_connection, utc_now)

    with pytest.raises(sa.exc.OperationalError):
        store.fetch_one("SELECT pg_terminate_backend(pg_backend_pid())", {})

    assert store.fetch_one("SELECT %(one)s::int", {"one": 1}) == (1,)
    assert not _autocommit(one_connection)
