"""Fixtures of the Avatar Creator tests, on the kit (``lumiku.testing``): the kit's client
and signed-in users with the plugin's requests added, images, and a shared app."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image
from starlette.testclient import TestClient

from lumiku.testing import SignedInUser, drain, job_queue_of, runtime_of
from lumiku.testing import sign_up as kit_sign_up
from lumiku_avatar_creator.plugin import spec

PREFIX = spec.prefix


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


class Api(SignedInUser):
    """A signed-in user talking to the plugin: the kit's user, plus the plugin's requests."""

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

    def wait_for(self, generation_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """Poll the generation until it is completed or failed."""
        deadline = time.monotonic() + timeout
        while True:
            body = dict(self.get(f"/generations/{generation_id}").json())
            if body["status"] in ("completed", "failed") or time.monotonic() > deadline:
                return body
            time.sleep(0.05)


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
    jobs = staticmethod(job_queue_of)
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
def lumiku_plugins() -> list[Any]:
    """The kit's ``api_client`` runs this plugin."""
    return [spec]


@pytest.fixture
def app_client(make_client: Any) -> Callable[..., TestClient]:
    """Return a factory of clients on an app with this plugin (and ``extra`` plugins)."""

    def factory(*extra: Any, **env: str) -> TestClient:
        client: TestClient = make_client([spec, *extra], **env)
        return client

    return factory


@pytest.fixture
def client(api_client: TestClient) -> TestClient:
    """Return the kit's client: an app with this plugin and the default test environment."""
    return api_client


def sign_up(client: TestClient, name: str = "ana") -> Api:
    """Register a new user and return their API handle on the plugin's routes."""
    user = kit_sign_up(client, name)
    return Api(client, user_id=user.user_id, email=user.email, token=user.token, prefix=PREFIX)
