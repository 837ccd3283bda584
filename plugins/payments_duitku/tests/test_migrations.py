"""The plugin's Alembic branch creates the tables its models describe and goes down again
(refusing while paid payments would lose what explains their purchase entries)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lumiku.db import migrate
from lumiku.plugins.migrations import migration_sources
from lumiku_payments_duitku import hooks
from lumiku_payments_duitku.models import metadata

TABLES = {"duitku_payments", "duitku_payment_events"}


def test_the_branch_creates_the_tables_the_models_describe(shop: Any) -> None:
    assert hooks.register_migrations() == "lumiku_payments_duitku:migrations"
    with shop.runtime.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    ours = [d for d in diffs if any(name in repr(d) for name in TABLES)]
    # The models leave out the foreign key to the core's users (another MetaData).
    assert [d for d in ours if "foreignkey" not in repr(d).lower()] == []
    assert set(metadata.tables) == TABLES


def test_the_branch_downgrades_and_upgrades_again_but_keeps_paid_payments(shop: Any) -> None:
    runtime = shop.runtime
    sources = migration_sources(runtime.registry)
    migrate.downgrade(runtime.engine, sources, "payments_duitku")
    assert not TABLES & set(sa.inspect(runtime.engine).get_table_names())
    migrate.upgrade(runtime.engine, sources)
    assert set(sa.inspect(runtime.engine).get_table_names()) >= TABLES

    user = shop.sign_up()
    shop.duitku.pay(shop.buy(user)["merchantOrderId"])
    with pytest.raises(RuntimeError, match=r"^1 paid Duitku payment exists; export it "):
        migrate.downgrade(runtime.engine, sources, "payments_duitku")
    assert set(sa.inspect(runtime.engine).get_table_names()) >= TABLES
    # The refusal comes after the branch's head step went down in the same run: one
    # transaction, so the version table still names the head and the plugin keeps serving.
    with runtime.engine.connect() as connection:
        versions = set(MigrationContext.configure(connection).get_current_heads())
    assert "payments_duitku_0002" in versions
    assert "pd0001_tables" not in versions
