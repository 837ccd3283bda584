"""The plugin's Alembic branch: its tables as the models describe them, seeded, reversible."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku.cli.migrate_cmd import migration_sources
from lumiku.db import migrate
from lumiku_pose_generator import hooks
from lumiku_pose_generator.library_data import CATEGORIES, POSES
from lumiku_pose_generator.models import metadata
from lumiku_pose_generator.seed import seed_library

TABLES = {"pose_categories", "pose_library", "pose_requests"}


def test_the_branch_creates_the_tables_the_models_describe(client: TestClient, kit: Any) -> None:
    engine = kit.runtime(client).engine
    inspector = sa.inspect(engine)

    assert hooks.register_migrations() == "lumiku_pose_generator:migrations"
    assert TABLES.issubset(inspector.get_table_names())
    for name in TABLES:
        columns = {column["name"] for column in inspector.get_columns(name)}
        assert columns == {column.name for column in metadata.tables[name].columns}, name


def test_the_migration_seeds_the_library(client: TestClient, kit: Any) -> None:
    assert kit.count_rows(client, "pose_categories") == len(CATEGORIES) == 28
    assert kit.count_rows(client, "pose_library") == len(POSES)


def test_seeding_again_changes_nothing_and_keeps_counters(client: TestClient, kit: Any) -> None:
    engine = kit.runtime(client).engine
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE pose_library SET usage_count = 7"))
        connection.execute(
            sa.text("UPDATE pose_library SET name = 'Renamed' WHERE id = :id"), {"id": POSES[0].id}
        )
    with engine.begin() as connection:
        report = seed_library(connection)

    assert (report.categories_added, report.categories_updated) == (0, 0)
    assert (report.poses_added, report.poses_updated) == (0, 1)
    with engine.connect() as connection:
        counts = set(connection.execute(sa.text("SELECT usage_count FROM pose_library")).scalars())
        name = connection.execute(
            sa.text("SELECT name FROM pose_library WHERE id = :id"), {"id": POSES[0].id}
        ).scalar_one()
    assert counts == {7}
    assert name == POSES[0].name


def test_the_branch_downgrades_and_upgrades_again(client: TestClient, kit: Any) -> None:
    runtime = kit.runtime(client)
    sources = migration_sources(runtime.registry)

    migrate.downgrade(runtime.engine, sources, "pose_generator")
    assert not TABLES & set(sa.inspect(runtime.engine).get_table_names())

    migrate.upgrade(runtime.engine, sources)
    assert kit.count_rows(client, "pose_library") == len(POSES)
