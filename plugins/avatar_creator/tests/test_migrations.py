"""The plugin's Alembic branch: its own label, on top of the core users table, reversible."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku.cli.migrate_cmd import migration_sources
from lumiku.db import migrate
from lumiku_avatar_creator import hooks
from lumiku_avatar_creator.models import metadata

TABLES = {
    "avatar_projects",
    "avatars",
    "avatar_presets",
    "persona_examples",
    "avatar_usage_history",
    "avatar_generations",
}


def test_the_branch_creates_the_tables_the_models_describe(client: TestClient, kit: Any) -> None:
    engine = kit.runtime(client).engine
    inspector = sa.inspect(engine)

    assert hooks.register_migrations() == "lumiku_avatar_creator:migrations"
    assert TABLES.issubset(inspector.get_table_names())
    assert set(metadata.tables) == TABLES
    for name, table in metadata.tables.items():
        columns = {column["name"] for column in inspector.get_columns(name)}
        assert columns == {column.name for column in table.columns}, name


def test_the_branch_downgrades_and_upgrades_again(client: TestClient, kit: Any) -> None:
    runtime = kit.runtime(client)
    sources = migration_sources(runtime.registry)

    migrate.downgrade(runtime.engine, sources, "avatar_creator")
    assert not TABLES & set(sa.inspect(runtime.engine).get_table_names())

    migrate.upgrade(runtime.engine, sources)
    assert kit.count_rows(client, "avatar_presets") == 20
    assert kit.count_rows(client, "persona_examples") == 8
