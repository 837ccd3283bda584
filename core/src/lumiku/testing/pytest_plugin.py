"""The ``lumiku`` pytest plugin (entry point ``pytest11``): fixtures for core and plugin tests.

Database backend: ``LUMIKU_TEST_DATABASE=postgresql`` runs the ``database_url`` fixture on a
fresh PostgreSQL database per session; the default is a SQLite file. Tests that need a
service fail when it is missing under ``CI`` and skip elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lumiku.testing import databases


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


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield a URL to a fresh, empty database of the backend this run tests."""
    if test_backend() == "postgresql":
        yield request.getfixturevalue("postgres_url")
    else:
        yield databases.temporary_sqlite_url(tmp_path)


@pytest.fixture(scope="session")
def redis_server() -> str:
    """Return the test Redis URL after making sure the server answers."""
    require_service("Redis", databases.redis_available())
    return databases.redis_url()


@pytest.fixture
def lumiku_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Return the environment for a test app (edit it before calling ``make_app``)."""
    from lumiku.testing.app import test_environment

    return test_environment(database_url, tmp_path)


@pytest.fixture
def make_app(lumiku_env: dict[str, str]) -> Any:
    """Return a factory ``make_app(plugins=None, **env)`` building a migrated app."""
    from lumiku.testing.app import build_test_app

    def factory(plugins: Any = None, **env: str) -> Any:
        return build_test_app({**lumiku_env, **env}, plugins=plugins)

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
