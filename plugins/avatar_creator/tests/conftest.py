"""Fixtures of the Avatar Creator tests: a client on a migrated app, users, images, jobs."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image
from starlette.testclient import TestClient

from lumiku_avatar_creator.plugin import spec

PREFIX = "/api/apps/avatar-creator"
PASSWORD = "violet staple orchard kettle"


def image_bytes(
    width: int = 512,
    height: int = 512,
    image_format: str = "PNG",
    colour: tuple[int, int, int] = (40, 120, 200),
) -> bytes:
    """Return an encoded image with some detail (so a truncation really loses data)."""
    picture = Image.new("RGB", (width, height), colour)
    for x in range(0, width, 7):
        for y in range(0, height, 11):
            picture.putpixel((x, y), ((x * 3) % 256, (y * 5) % 256, (x + y) % 256))
    buffer = io.BytesIO()
    picture.save(buffer, format=image_format)
    return buffer.getvalue()


class Api:
    """A signed-in user talking to the plugin through a TestClient."""

    def __init__(self, client: TestClient, token: str, user_id: str) -> None:
        self.client = client
        self.user_id = user_id
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(PREFIX + path, headers=self._headers(kwargs), **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(PREFIX + path, headers=self._headers(kwargs), **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.client.put(PREFIX + path, headers=self._headers(kwargs), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(PREFIX + path, headers=self._headers(kwargs), **kwargs)

    def _headers(self, kwargs: dict[str, Any]) -> dict[str, str]:
        return {**self.headers, **kwargs.pop("headers", {})}

    def project(self, name: str = "Team") -> str:
        response = self.post("/projects", json={"name": name})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def upload(
        self, project_id: str, data: bytes | None = None, *, name: str = "Me", **fields: str
    ) -> Any:
        return self.post(
            f"/projects/{project_id}/avatars/upload",
            files={"image": ("photo.png", image_bytes() if data is None else data, "image/png")},
            data={"name": name, **fields},
        )

    def generate(self, project_id: str, **body: Any) -> Any:
        payload = {"name": "Generated", "prompt": "a friendly person smiling", "width": 512}
        payload.update(height=512, seed=7)
        payload.update(body)
        return self.post(f"/projects/{project_id}/avatars/generate", json=payload)

    def balance(self) -> dict[str, int]:
        response = self.client.get("/api/credits/balance", headers=self.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def history(self) -> list[dict[str, Any]]:
        response = self.client.get("/api/credits/history?limit=100", headers=self.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])

    def wait_for(self, generation_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """Poll the generation until it is completed or failed."""
        deadline = time.monotonic() + timeout
        while True:
            body = dict(self.get(f"/generations/{generation_id}").json())
            if body["status"] in ("completed", "failed") or time.monotonic() > deadline:
                return body
            time.sleep(0.05)


def runtime_of(client: TestClient) -> Any:
    """Return the runtime of the client's app."""
    return client.app.state.runtime  # type: ignore[attr-defined]


def drain(client: TestClient, timeout_ms: int = 30_000) -> None:
    """Wait until the app's in-process queues are empty (delay queues are joined with them)."""
    broker = runtime_of(client).broker
    for queue in sorted(broker.get_declared_queues() - broker.delay_queues):
        broker.join(queue, timeout=timeout_ms, fail_fast=False)


def stored_files(storage_dir: Path) -> list[Path]:
    """Return the files in the plugin's storage folder."""
    folder = storage_dir / "avatar-creator"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def count_rows(client: TestClient, table: str) -> int:
    """Return the number of rows in ``table``."""
    with runtime_of(client).engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


class Kit:
    """The helpers tests use, handed out by the ``kit`` fixture (importlib mode forbids
    importing conftest)."""

    prefix = PREFIX
    image = staticmethod(image_bytes)
    runtime = staticmethod(runtime_of)
    drain = staticmethod(drain)
    count_rows = staticmethod(count_rows)

    def __init__(self, storage_dir: Path) -> None:
        self.storage_dir = storage_dir

    @staticmethod
    def sign_up(client: TestClient, name: str = "ana") -> Api:
        """Register a new user and return their API handle."""
        return sign_up(client, name)

    def files(self) -> list[Path]:
        """Return the files in the plugin's storage folder."""
        return stored_files(self.storage_dir)

    @staticmethod
    def services(client: TestClient) -> Any:
        """Return the plugin's services in the client's app."""
        from lumiku_avatar_creator.services import services_for

        return services_for(runtime_of(client).contexts["avatar_creator"])


@pytest.fixture(scope="module")
def shared_app(
    lumiku_databases: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Kit]]:
    """One migrated app (and its kit) for a whole test module, on the backend under test.

    Setting up an app (a new database, the migrations, the lifespan) is most of a test's
    time; modules whose tests each work with fresh users share one by overriding
    ``client`` and ``kit`` with it. Keep them under the 20 sign-ups an hour per IP, and
    let no test rely on the database holding only its own rows.
    """
    from lumiku.testing.app import build_test_app, test_environment

    workdir = tmp_path_factory.mktemp("shared-app")
    database = lumiku_databases.scratch(workdir)
    env = test_environment(database.url, workdir)
    app = build_test_app(env, plugins=[spec], database=database)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, Kit(Path(env["LUMIKU_STORAGE_DIR"]))
    finally:
        database.drop()


@pytest.fixture
def storage_dir(lumiku_env: dict[str, str]) -> Path:
    """Return the storage root of the test app."""
    return Path(lumiku_env["LUMIKU_STORAGE_DIR"])


@pytest.fixture
def kit(storage_dir: Path) -> Kit:
    """Return the test helpers."""
    return Kit(storage_dir)


@pytest.fixture
def app_client(make_client: Any) -> Callable[..., TestClient]:
    """Return a factory of clients on an app with this plugin (and ``extra`` plugins)."""

    def factory(*extra: Any, **env: str) -> TestClient:
        client: TestClient = make_client([spec, *extra], **env)
        return client

    return factory


@pytest.fixture
def client(app_client: Callable[..., TestClient]) -> TestClient:
    """Return a client on an app with this plugin and the default test environment."""
    return app_client()


def sign_up(client: TestClient, name: str = "ana") -> Api:
    """Register a new user and return their API handle."""
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    response = client.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": name}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Api(client, body["token"], body["user"]["id"])
