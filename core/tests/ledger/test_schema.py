"""Migration 0002_ledger creates exactly the tables that ``lumiku.ledger.tables`` describes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lumiku.db import migrate
from lumiku.db.tables import users
from lumiku.ledger import tables

LEDGER_TABLES = {
    "credit_accounts",
    "credit_entries",
    "credit_holds",
    "reconciliation_findings",
}


@pytest.fixture
def ledger_engine(fresh_engine: sa.Engine) -> sa.Engine:
    """Give every test a database of its own: some migrate it up and down."""
    return fresh_engine


def _table_of(diff: Any) -> str | None:
    """Return the table a diff of ``compare_metadata`` is about (modify diffs are lists)."""
    for part in diff[0] if isinstance(diff, list) else diff:
        if isinstance(part, sa.Table):
            return part.name
        if isinstance(getattr(part, "table", None), sa.Table):
            return str(part.table.name)
        if isinstance(part, str) and part in LEDGER_TABLES:
            return part
    return None


def test_migration_matches_the_table_objects(ledger_engine: sa.Engine) -> None:
    ledger_metadata = sa.MetaData()
    for table in (
        users,
        tables.credit_accounts,
        tables.credit_entries,
        tables.credit_holds,
        tables.reconciliation_findings,
    ):
        table.to_metadata(ledger_metadata)

    with ledger_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, ledger_metadata)

    assert [diff for diff in diffs if _table_of(diff) in LEDGER_TABLES] == []


def test_downgrade_drops_the_ledger_tables_and_upgrade_restores_them(
    ledger_engine: sa.Engine,
) -> None:
    sources = [migrate.core_source()]
    migrate.downgrade(ledger_engine, sources, "core", "0001_users")
    assert LEDGER_TABLES.isdisjoint(sa.inspect(ledger_engine).get_table_names())
    migrate.upgrade(ledger_engine, sources)
    assert set(sa.inspect(ledger_engine).get_table_names()) >= LEDGER_TABLES


def test_account_cannot_hold_more_than_its_balance(
    ledger_engine: sa.Engine, new_user: Callable[[], str]
) -> None:
    user_id = new_user()
    now = datetime.now(UTC)
    with pytest.raises(sa.exc.IntegrityError), ledger_engine.begin() as connection:
        connection.execute(
            sa.insert(tables.credit_accounts).values(
                user_id=user_id, balance=5, held=6, updated_at=now
            )
        )
    with pytest.raises(sa.exc.IntegrityError), ledger_engine.begin() as connection:
        connection.execute(
            sa.insert(tables.credit_accounts).values(
                user_id=user_id, balance=-1, held=0, updated_at=now
            )
        )


def test_idempotency_keys_are_unique(ledger_engine: sa.Engine) -> None:
    inspector = sa.inspect(ledger_engine)
    for name in ("credit_entries", "credit_holds"):
        unique = inspector.get_unique_constraints(name)
        assert [constraint["column_names"] for constraint in unique] == [["idempotency_key"]]


def test_purchases_are_unique_per_reference_and_the_upgrade_refuses_existing_duplicates(
    ledger_engine: sa.Engine, new_user: Callable[[], str]
) -> None:
    indexes = {i["name"]: i for i in sa.inspect(ledger_engine).get_indexes("credit_entries")}
    purchase_index = indexes[tables.PURCHASE_REFERENCE_INDEX]
    assert purchase_index["unique"]
    assert purchase_index["column_names"] == ["reference_type", "reference_id"]

    sources = [migrate.core_source()]
    migrate.downgrade(ledger_engine, sources, "core", "0004_job_items")
    user_id = new_user()
    now = datetime.now(UTC)
    entry = {
        "user_id": user_id,
        "amount": 10,
        "kind": "purchase",
        "reference_type": "payment",
        "reference_id": "INV-9",
        "reason": "package",
        "created_at": now,
    }
    with ledger_engine.begin() as connection:
        connection.execute(
            sa.insert(tables.credit_accounts).values(
                user_id=user_id, balance=20, held=0, updated_at=now
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO credit_entries (user_id, amount, kind, balance_after, "
                "reference_type, reference_id, reason, idempotency_key, created_at) VALUES "
                "(:user_id, :amount, :kind, :after, :reference_type, :reference_id, :reason, "
                ":key, :created_at)"
            ),
            [{**entry, "after": 10, "key": "first"}, {**entry, "after": 20, "key": "second"}],
        )

    with pytest.raises(RuntimeError, match="payment INV-9 \\(2 entries\\)"):
        migrate.upgrade(ledger_engine, sources)

    with ledger_engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE credit_entries SET reference_id = 'INV-9/dup' "
                "WHERE idempotency_key = 'second'"
            )
        )
    migrate.upgrade(ledger_engine, sources)
    assert tables.PURCHASE_REFERENCE_INDEX in {
        i["name"] for i in sa.inspect(ledger_engine).get_indexes("credit_entries")
    }
