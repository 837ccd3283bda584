"""Test databases: a template migrated once per set of migration sources, copied per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from lumiku.db import create_engine, migrate
from lumiku.testing import ScratchDatabase, TestDatabases
from lumiku.testing.databases import postgres_admin_url
from lumiku.testing.templates import PostgresDatabases, SqliteDatabases

CORE = [migrate.core_source()]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestDatabases]:
    """Yield test databases of their own (not the session's) on each backend."""
    made: TestDatabases
    if request.param == "sqlite":
        made = SqliteDatabases(tmp_path / "templates")
    else:
        request.getfixturevalue("postgres_server")
        made = PostgresDatabases(postgres_admin_url(), spares=1)
    yield made
    made.close()


def tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def count_users(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM users")).scalar_one())
    finally:
        engine.dispose()


def add_user(url: str, user_id: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO users (id, email, password_hash, role, tokens_valid_after,"
                    " created_at, updated_at) VALUES (:id, :email, 'x', 'user',"
                    " '2026-01-01', '2026-01-01', '2026-01-01')"
                ),
                {"id": user_id, "email": f"{user_id}@example.test"},
            )
    finally:
        engine.dispose()


def test_a_scratch_database_is_created_on_first_need(
    databases: TestDatabases, tmp_path: Path
) -> None:
    database = databases.scratch(tmp_path)
    assert not databases.exists(database.url)

    assert database.ensure() is False  # empty: the caller migrates
    assert databases.exists(database.url)
    assert tables(database.url) == set()
    assert database.ensure(CORE) is False  # it exists already: left as it is

    database.drop()
    if isinstance(databases, PostgresDatabases):
        databases.close()  # the drop runs in the background; close waits for it
    assert not databases.exists(database.url)


def test_copies_have_the_schema_and_are_independent(
    databases: TestDatabases, tmp_path: Path
) -> None:
    copies: list[ScratchDatabase] = []
    for n in range(3):
        (tmp_path / str(n)).mkdir()
        database = databases.scratch(tmp_path / str(n))
        # The first use of a set of sources migrates in place (cheaper than a template
        # for a set asked for once); later ones are copies of the template.
        assert database.ensure(CORE) is True
        copies.append(database)
    add_user(copies[1].url, "only-in-copy-1")

    for database in copies:
        assert {"users", "credit_accounts", "alembic_version"} <= tables(database.url)
        engine = create_engine(database.url)
        assert migrate.at_head(engine, CORE)
        engine.dispose()
    assert [count_users(database.url) for database in copies] == [0, 1, 0]


def test_migrated_yields_a_database_and_drops_it(databases: TestDatabases, tmp_path: Path) -> None:
    with databases.migrated(tmp_path, CORE) as url:
        assert "users" in tables(url)
    if isinstance(databases, PostgresDatabases):
        databases.close()
    assert not databases.exists(url)


@pytest.mark.postgres
def test_postgresql_names_are_unique_per_run_and_nothing_is_left_behind(
    postgres_server: None, tmp_path: Path
) -> None:
    first = PostgresDatabases(postgres_admin_url(), spares=2)
    second = PostgresDatabases(postgres_admin_url(), spares=2)
    assert first.run_id != second.run_id
    for n in range(3):
        (tmp_path / str(n)).mkdir()
        first.scratch(tmp_path / str(n)).ensure(CORE)  # left for close() to drop

    first.close()
    second.close()

    with psycopg.connect(postgres_admin_url()) as connection:
        left = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"%{first.run_id}%",)
        ).fetchall()
    assert left == []
