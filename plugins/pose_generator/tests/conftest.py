"""Fixtures of the Pose Generator tests, on the kit (``lumiku.testing``)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from PIL import Image
from starlette.testclient import TestClient

from lumiku import GeneratedImage, ImageProvider, ImageRequest, ProviderError
from lumiku.testing import SignedInUser, define_plugin, drain, job_queue_of, runtime_of
from lumiku.testing import sign_up as kit_sign_up
from lumiku_pose_generator.plugin import spec

PREFIX = spec.prefix
STANDING = [
    (0.50, 0.16, 1), (0.50, 0.26, 1), (0.42, 0.27, 1), (0.34, 0.40, 1), (0.28, 0.52, 1),
    (0.58, 0.27, 1), (0.68, 0.36, 1), (0.78, 0.28, 1), (0.45, 0.52, 1), (0.44, 0.70, 1),
    (0.43, 0.88, 1), (0.55, 0.52, 1), (0.60, 0.70, 1), (0.64, 0.87, 1), (0.48, 0.14, 1),
    (0.52, 0.14, 1), (0.46, 0.15, 1), (0.54, 0.15, 1),
]  # fmt: skip
SMALL = {"POSE_GENERATOR_IMAGE_WIDTH": "192", "POSE_GENERATOR_IMAGE_HEIGHT": "256"}


def image_bytes(
    width: int = 256, height: int = 256, colour: tuple[int, int, int] = (40, 120, 200)
) -> bytes:
    """Return a PNG with a face-coloured middle and a shirt-coloured bottom."""
    picture = Image.new("RGB", (width, height), colour)
    picture.paste((150, 100, 70), (width // 3, height // 4, 2 * width // 3, height // 2))
    picture.paste((200, 40, 40), (0, height * 9 // 10, width, height))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def pose_keypoints(n: int) -> list[list[float]]:
    """Return a standing skeleton with the arms moved by ``n`` (distinct per pose)."""
    points = [list(p) for p in STANDING]
    points[4] = [0.28, max(0.05, 0.52 - 0.04 * (n % 10)), 1.0]
    points[7] = [0.78, min(0.95, 0.28 + 0.03 * (n % 7)), 1.0]
    return points


def library_poses(client: Any, count: int) -> list[str]:
    """Return the ids of the first ``count`` library poses (the seeded library)."""
    with runtime_of(client).engine.connect() as connection:
        ids = list(
            connection.execute(
                sa.text("SELECT id FROM pose_library ORDER BY id LIMIT :n"), {"n": count}
            ).scalars()
        )
    assert len(ids) == count, f"the library has {len(ids)} poses, {count} wanted"
    return ids


def count_rows(client: TestClient, table: str) -> int:
    """Return the number of rows in ``table``."""
    with runtime_of(client).engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


class Api(SignedInUser):
    """A signed-in user talking to the plugin."""

    def upload(self, data: bytes | None = None) -> str:
        response = self.post(
            "/uploads", files={"image": ("me.png", data or image_bytes(), "image/png")}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["imageUrl"])

    def project(self, name: str = "Shoot") -> str:
        body = {"projectName": name, "avatarSource": "UPLOAD", "avatarImageUrl": self.upload()}
        response = self.post("/projects", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def gallery(self, project_id: str, pose_ids: list[str], **extra: Any) -> Any:
        body = {
            "projectId": project_id,
            "generationType": "GALLERY_REFERENCE",
            "selectedPoseIds": pose_ids,
            **extra,
        }
        return self.post("/generate", json=body)

    def wait_for(self, generation_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Poll the generation until it finishes."""
        deadline = time.monotonic() + timeout
        while True:
            body = dict(self.get(f"/generations/{generation_id}").json())
            if body["status"] in ("completed", "partial", "failed"):
                return body
            if time.monotonic() > deadline:
                return body
            time.sleep(0.05)


def sign_up(client: Any, name: str = "ana", credits: int = 0) -> Api:
    """Register a user (100 welcome credits, plus ``credits``) on the plugin's routes."""
    user = kit_sign_up(client, name)
    if credits:
        runtime_of(client).ledger.grant(
            user.user_id, credits, "test credits", f"test-grant:{user.user_id}"
        )
    return Api(client, user_id=user.user_id, email=user.email, token=user.token, prefix=PREFIX)


class FlakyProvider(ImageProvider):
    """The local provider, failing for good on every pose whose seed is odd... by choice:
    it fails the poses whose keypoints' right wrist is above ``fail_above``."""

    name = "flaky"

    def __init__(self, inner: ImageProvider, fail_when: Callable[[ImageRequest], bool]) -> None:
        self._inner = inner
        self._fail_when = fail_when
        self.calls: list[ImageRequest] = []

    def generate(self, request: ImageRequest) -> GeneratedImage:
        self.calls.append(request)
        if self._fail_when(request):
            raise ProviderError("the model refused this pose", provider=self.name, retryable=False)
        return self._inner.generate(request)


def provider_plugin(provider_factory: Callable[[], ImageProvider]) -> Any:
    """Return an in-memory plugin registering the provider ``provider_factory`` makes."""
    return define_plugin(
        "pose_test_provider", register_image_providers=lambda: {"flaky": provider_factory()}
    )


class Kit:
    """Helpers handed out by the ``kit`` fixture (importlib mode forbids importing conftest)."""

    prefix = PREFIX
    image = staticmethod(image_bytes)
    runtime = staticmethod(runtime_of)
    drain = staticmethod(drain)
    jobs = staticmethod(job_queue_of)
    poses = staticmethod(library_poses)
    sign_up = staticmethod(sign_up)
    keypoints = staticmethod(pose_keypoints)
    FlakyProvider = FlakyProvider
    provider_plugin = staticmethod(provider_plugin)
    small = SMALL
    spec = spec

    count_rows = staticmethod(count_rows)

    def __init__(self, storage_dir: Path | None = None) -> None:
        self.storage_dir = storage_dir or Path("/nonexistent")

    @staticmethod
    def admin(client: TestClient, name: str = "root") -> SignedInUser:
        """Register a new user, make them an admin and return their handle."""
        user = kit_sign_up(client, name)
        with runtime_of(client).engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE users SET role = 'admin' WHERE id = :id"), {"id": user.user_id}
            )
        return user.at(PREFIX)

    def files(self) -> list[Path]:
        folder = self.storage_dir / "pose-generator"
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []

    @staticmethod
    def services(client: TestClient) -> Any:
        from lumiku_pose_generator.services import services_for

        return services_for(runtime_of(client).contexts["pose_generator"])


@pytest.fixture
def storage_dir(lumiku_env: dict[str, str]) -> Path:
    return Path(lumiku_env["LUMIKU_STORAGE_DIR"])


@pytest.fixture
def kit(storage_dir: Path) -> Kit:
    return Kit(storage_dir)


@pytest.fixture
def lumiku_plugins() -> list[Any]:
    return [spec]


@pytest.fixture
def app_client(make_client: Any) -> Callable[..., TestClient]:
    """Return a factory of clients on an app with this plugin (small images by default)."""

    def factory(*extra: Any, **env: str) -> TestClient:
        client: TestClient = make_client([spec, *extra], **{**SMALL, **env})
        return client

    return factory


@pytest.fixture
def client(app_client: Callable[..., TestClient]) -> TestClient:
    return app_client()


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


@pytest.fixture
def start_worker(lumiku_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Any]]:
    started: list[subprocess.Popen[str]] = []

    def start(env: dict[str, str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).parent / "worker_process.py"),
                str(tmp_path / "renders.log"),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **lumiku_env, **env},
        )
        started.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()
