"""The ``lumiku`` pytest plugin (entry point ``pytest11``): fixtures for core and plugin tests.

Database backend: ``LUMIKU_TEST_DATABASE=postgresql`` gives each test a database of its own
on the PostgreSQL server; the default is a SQLite file. A test that wants a migrated
database gets a copy of a template migrated once per session (see
``lumiku.testing.templates``). Tests that need a service fail when it is missing under
``CI`` and skip elsewhere.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lumiku.db.migrate import core_source
from lumiku.testing import databases
from lumiku.testing.redis_server import RedisProcess
from lumiku.testing.templates import (
    PostgresDatabases,
    ScratchDatabase,
    SqliteDatabases,
    TestDatabases,
)


def require_service(name: str, available: bool) -> None:
    """Fail (under CI) or skip (elsewhere) when a service the test needs does not answer."""
    if available:
        return
    message = f"{name} is not reachable"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must start it (see .ci/run)", pytrace=False)
    pytest.skip(message)


def test_backend() -> str:
    """Return ``sqlite`` or ``postgresql``, from ``LUMIKU_TEST_DATABASE``."""
    backend = os.environ.get("LUMIKU_TEST_DATABASE", "sqlite")
    if backend not in {"sqlite", "postgresql"}:
        raise pytest.UsageError("LUMIKU_TEST_DATABASE must be sqlite or postgresql")
    return backend


test_backend.__test__ = False  # type: ignore[attr-defined]  # not a test, despite the name


@pytest.fixture(scope="session")
def postgres_server() -> None:
    """Make sure the PostgreSQL server answers."""
    require_service("PostgreSQL", databases.postgres_available())


@pytest.fixture
def postgres_url(postgres_server: None) -> Iterator[str]:
    """Yield a URL to a fresh, empty PostgreSQL database, dropped after the test."""
    with databases.temporary_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """Return a URL to a new SQLite file."""
    return databases.temporary_sqlite_url(tmp_path)


@pytest.fixture(scope="session")
def lumiku_databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestDatabases]:
    """Yield the session's throwaway databases on the backend under test (and its templates)."""
    test_databases: TestDatabases
    if test_backend() == "postgresql":
        request.getfixturevalue("postgres_server")
        test_databases = PostgresDatabases(databases.postgres_admin_url())
    else:
        test_databases = SqliteDatabases(tmp_path_factory.mktemp("templates"))
    yield test_databases
    test_databases.close()


@pytest.fixture
def scratch_database(lumiku_databases: TestDatabases, tmp_path: Path) -> Iterator[ScratchDatabase]:
    """Yield this test's database, created on first need (by ``make_app``, or empty)."""
    database = lumiku_databases.scratch(tmp_path)
    yield database
    database.drop()


@pytest.fixture
def database_url(scratch_database: ScratchDatabase) -> str:
    """Return a URL to a fresh, empty database of the backend this run tests.

    It is the database of ``lumiku_env``: an app built on it afterwards migrates it.
    """
    scratch_database.ensure()
    return scratch_database.url


@pytest.fixture
def migrated_database_url(lumiku_databases: TestDatabases, tmp_path: Path) -> Iterator[str]:
    """Yield a URL to a fresh database with the core's migrations applied (a template copy)."""
    with lumiku_databases.migrated(tmp_path, [core_source()]) as url:
        yield url


@pytest.fixture(scope="session")
def redis_server() -> str:
    """Return the test Redis URL after making sure the server answers.

    Several test runs share it: keep your keys under a prefix unique to the test.
    """
    require_service("Redis", databases.redis_available())
    return databases.redis_url()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[..., RedisProcess]]:
    """Return ``start(password=None)``: a ``redis-server`` of this test's own, on a free port.

    Use it when the test stops or flushes Redis, or lets an app use its default key names.
    """
    require_service("redis-server (binary)", shutil.which("redis-server") is not None)
    started: list[RedisProcess] = []

    def start(password: str | None = None) -> RedisProcess:
        workdir = tmp_path / f"redis-{len(started)}"
        workdir.mkdir()
        server = RedisProcess(workdir, password)
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def lumiku_env(scratch_database: ScratchDatabase, tmp_path: Path) -> dict[str, str]:
    """Return the environment for a test app (edit it before calling ``make_app``).

    Its ``DATABASE_URL`` names this test's database, which ``make_app`` creates already
    migrated. To use the database before any app is built (a CLI command, your own
    engine), request ``database_url`` too: it creates the database, empty.
    """
    from lumiku.testing.app import test_environment

    return test_environment(scratch_database.url, tmp_path)


@pytest.fixture
def make_app(lumiku_env: dict[str, str], scratch_database: ScratchDatabase) -> Any:
    """Return a factory ``make_app(plugins=None, **env)`` building a migrated app."""
    from lumiku.testing.app import build_test_app

    def factory(plugins: Any = None, **env: str) -> Any:
        return build_test_app({**lumiku_env, **env}, plugins=plugins, database=scratch_database)

    return factory


@pytest.fixture
def make_client(make_app: Any) -> Iterator[Any]:
    """Return a factory ``make_client(plugins=None, **env)``: a TestClient with lifespan run."""
    from starlette.testclient import TestClient

    clients: list[TestClient] = []

    def factory(plugins: Any = None, **env: str) -> TestClient:
        client = TestClient(make_app(plugins, **env), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in reversed(clients):
        client.__exit__(None, None, None)
