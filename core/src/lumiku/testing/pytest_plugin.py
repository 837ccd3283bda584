"""The ``lumiku`` pytest plugin (entry point ``pytest11``): fixtures for core and plugin tests.

Database backend: ``LUMIKU_TEST_DATABASE=postgresql`` gives each test a database of its own
on the PostgreSQL server; the default is a SQLite file. A test that wants a migrated
database gets a copy of a template migrated once per session (``lumiku.testing.templates``).
Tests that need a service fail when it is missing under ``CI`` and skip elsewhere.

| fixture | gives |
| --- | --- |
| ``lumiku_plugins`` | the plugins of ``api_client`` (override it: ``return [spec]``) |
| ``make_app``, ``make_client`` | factories of migrated apps (clients) with given plugins |
| ``api_client`` | a ``TestClient`` on an app with ``lumiku_plugins`` |
| ``signed_in_user`` | a new account on ``api_client`` (a :class:`SignedInUser`) |
| ``make_plugin_harness`` | a plugin's context on fakes, without an app |
| ``manual_clock`` | a :class:`ManualClock` |
| ``database_url``, ``migrated_database_url`` | a fresh database, empty or with the core schema |
| ``lumiku_env`` | the environment of a test app |
| ``redis_server``, ``private_redis`` | the shared test Redis; a Redis of the test's own |
| ``s3_server``, ``s3_env`` | a local S3 server (moto); a bucket of the test's own, as settings |
| ``lumiku_processes`` | real ``lumiku serve``/``worker`` processes (a :class:`LumikuProcesses`) |
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from lumiku.testing import databases

# The rest of the kit is imported by the fixtures that use it: pytest loads this plugin in
# every run of an environment where lumiku is installed, and should start fast there.
if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from lumiku.plugins.registry import PluginSource
    from lumiku.plugins.spec import PluginSpec
    from lumiku.testing.client import SignedInUser
    from lumiku.testing.clock import ManualClock
    from lumiku.testing.context import PluginHarness
    from lumiku.testing.processes import LumikuProcesses
    from lumiku.testing.redis_server import RedisProcess
    from lumiku.testing.s3_server import S3Server
    from lumiku.testing.templates import ScratchDatabase, TestDatabases

MakeApp = Callable[..., "Starlette"]
MakeClient = Callable[..., "TestClient"]
MakeHarness = Callable[..., "PluginHarness"]


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


# -- services ----------------------------------------------------------------------------


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
    from lumiku.testing.redis_server import RedisProcess

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


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """Yield a local S3-compatible server (moto's, over HTTP on a free port) for the session."""
    import importlib.util

    require_service("moto_server (moto[server])", importlib.util.find_spec("moto") is not None)
    from lumiku.testing.s3_server import S3Server

    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server) -> dict[str, str]:
    """Return the settings (``LUMIKU_STORAGE=s3``...) of a new empty bucket on ``s3_server``."""
    return s3_server.environment(s3_server.new_bucket())


@pytest.fixture
def lumiku_processes(tmp_path: Path) -> Iterator[LumikuProcesses]:
    """Yield a starter of ``lumiku`` processes (logs in the test's folder); every process
    still running after the test gets ``SIGTERM``, then ``SIGKILL`` with its group."""
    from lumiku.testing.processes import LumikuProcesses

    folder = tmp_path / "processes"
    folder.mkdir()
    started = LumikuProcesses(folder)
    yield started
    started.stop_all()


# -- databases ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def lumiku_databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestDatabases]:
    """Yield the session's throwaway databases on the backend under test (and its templates)."""
    from lumiku.testing.templates import PostgresDatabases, SqliteDatabases

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
    from lumiku.db import migrate

    with lumiku_databases.migrated(tmp_path, [migrate.core_source()]) as url:
        yield url


# -- apps --------------------------------------------------------------------------------


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
def make_app(lumiku_env: dict[str, str], scratch_database: ScratchDatabase) -> MakeApp:
    """Return ``make_app(plugins=None, *, clock=None, **env)``: a migrated app.

    ``plugins=None`` loads the installed plugins; ``env`` adds variables; ``clock`` (a
    :class:`ManualClock`) is the time of the app's ledger and auth.
    """
    from lumiku.testing.app import build_test_app

    def factory(
        plugins: Iterable[PluginSource] | None = None,
        *,
        clock: ManualClock | None = None,
        **env: str,
    ) -> Starlette:
        extra: dict[str, Any] = {} if clock is None else {"clock": clock}
        return build_test_app(
            {**lumiku_env, **env}, plugins=plugins, database=scratch_database, **extra
        )

    return factory


@pytest.fixture
def make_client(make_app: MakeApp) -> Iterator[MakeClient]:
    """Return ``make_client(plugins=None, *, clock=None, **env)``: a client, lifespan running.

    Server errors are answered as 500s (not raised), as a real client would see them.
    The clients are closed (their apps shut down) after the test.
    """
    from lumiku.testing.client import TestClient

    clients: list[TestClient] = []

    def factory(
        plugins: Iterable[PluginSource] | None = None,
        *,
        clock: ManualClock | None = None,
        **env: str,
    ) -> TestClient:
        client = TestClient(make_app(plugins, clock=clock, **env), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def lumiku_plugins() -> Iterable[PluginSource] | None:
    """Return the plugins ``api_client`` loads: ``None``, the installed ones.

    Override it in your conftest with your plugin's spec::

        @pytest.fixture
        def lumiku_plugins():
            return [spec]
    """
    return None


@pytest.fixture
def api_client(
    make_client: MakeClient, lumiku_plugins: Iterable[PluginSource] | None
) -> TestClient:
    """Return a client on a migrated app with ``lumiku_plugins``, lifespan running."""
    return make_client(lumiku_plugins)


@pytest.fixture
def signed_in_user(api_client: TestClient) -> SignedInUser:
    """Return a new account on ``api_client``'s app, signed in (100 welcome credits)."""
    from lumiku.testing.client import sign_up

    return sign_up(api_client)


@pytest.fixture
def manual_clock() -> ManualClock:
    """Return a clock standing at the current moment until the test moves it."""
    from lumiku.testing.clock import ManualClock

    return ManualClock()


# -- a plugin without an app -------------------------------------------------------------


@pytest.fixture
def make_plugin_harness(lumiku_databases: TestDatabases, tmp_path: Path) -> Iterator[MakeHarness]:
    """Return ``make_plugin_harness(spec, *, clock=None, **env)``: a context on fakes.

    The plugin's context is built on a migrated database of its own (a template copy) with
    the real ledger; see :class:`~lumiku.testing.PluginHarness` for the fakes.
    """
    from lumiku.db import migrate
    from lumiku.plugins.migrations import migration_sources
    from lumiku.testing.context import build_plugin_harness

    made: list[tuple[PluginHarness, ScratchDatabase]] = []

    def factory(spec: PluginSpec, *, clock: ManualClock | None = None, **env: str) -> PluginHarness:
        workdir = tmp_path / f"harness-{len(made)}"
        workdir.mkdir()
        database = lumiku_databases.scratch(workdir)
        harness = build_plugin_harness(
            spec, database_url=database.url, workdir=workdir, env=env, clock=clock
        )
        sources = migration_sources(harness.runtime.registry)
        if not database.ensure(sources):
            migrate.upgrade(harness.engine, sources)
        made.append((harness, database))
        return harness

    yield factory
    for harness, database in reversed(made):
        harness.close()
        database.drop()
