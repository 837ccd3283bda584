"""The core's migrations create exactly the tables its ``Table`` objects describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import lumiku.db.tables
import lumiku.heldjobs.items
import lumiku.ledger.tables
from lumiku.db import create_engine, migrate
from lumiku.db.metadata import metadata


def test_the_core_migrations_match_the_core_tables(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        migrate.upgrade(engine, [migrate.core_source()])
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diffs: list[Any] = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    core_tables = set(metadata.tables)
    assert {"users", "idempotent_requests", "credit_entries", "job_items"} <= core_tables

    def about_core(diff: Any) -> bool:
        text = repr(diff)
        return any(name in text for name in core_tables) and "alembic_version" not in text

    assert [diff for diff in diffs if about_core(diff)] == []
    assert lumiku.db.tables.users is metadata.tables["users"]
    assert lumiku.heldjobs.items.job_items is metadata.tables["job_items"]
