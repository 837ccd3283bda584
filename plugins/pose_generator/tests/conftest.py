"""Fixtures of the Pose Generator tests, on the kit (``lumiku.testing``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku.testing import SignedInUser, runtime_of
from lumiku.testing import sign_up as kit_sign_up
from lumiku_pose_generator.plugin import spec

PREFIX = spec.prefix


def count_rows(client: TestClient, table: str) -> int:
    """Return the number of rows in ``table``."""
    with runtime_of(client).engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


class Kit:
    """The helpers tests use, handed out by the ``kit`` fixture (importlib mode forbids
    importing conftest)."""

    prefix = PREFIX
    runtime = staticmethod(runtime_of)
    count_rows = staticmethod(count_rows)

    @staticmethod
    def sign_up(client: TestClient, name: str = "ana") -> SignedInUser:
        """Register a new user and return their handle on the plugin's routes."""
        user = kit_sign_up(client, name)
        return user.at(PREFIX)

    @staticmethod
    def admin(client: TestClient, name: str = "root") -> SignedInUser:
        """Register a new user, make them an admin and return their handle."""
        user = kit_sign_up(client, name)
        with runtime_of(client).engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": user.user_id}
            )
        return user.at(PREFIX)


@pytest.fixture
def kit() -> Kit:
    """Return the test helpers."""
    return Kit()


@pytest.fixture
def lumiku_plugins() -> list[Any]:
    """The kit's ``api_client`` runs this plugin."""
    return [spec]


@pytest.fixture
def client(api_client: TestClient) -> TestClient:
    """Return the kit's client: an app with this plugin and the default test environment."""
    return api_client


@pytest.fixture(scope="module")
def shared_app(
    lumiku_databases: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """One migrated app for a whole test module, on the backend under test (tests use
    fresh users and never rely on the database holding only their rows)."""
    from lumiku.testing.app import build_test_app, test_environment

    workdir = tmp_path_factory.mktemp("pose-shared-app")
    database = lumiku_databases.scratch(workdir)
    env = test_environment(database.url, workdir)
    app = build_test_app(env, plugins=[spec], database=database)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
    finally:
        database.drop()


@attrs.frozen
class People:
    """Users of a shared app: two users and an admin (sign-ups are limited per hour)."""

    ana: SignedInUser
    bob: SignedInUser
    admin: SignedInUser


@pytest.fixture(scope="module")
def people(shared_app: TestClient) -> People:
    """Return two users and an admin on the module's shared app."""
    return People(
        Kit.sign_up(shared_app, "ana"), Kit.sign_up(shared_app, "bob"), Kit.admin(shared_app)
    )
