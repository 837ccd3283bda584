"""Fixtures for the storage tests: a storage with a fixed clock, and a place outside it.

``storage`` runs each test that asks for it twice: on the local disk and on an S3 bucket
of its own (a moto server over HTTP, ``lumiku.testing.s3_server``). ``local_storage`` is
for the tests of the disk itself (symlinks, temporary files, free space).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from mypy_boto3_s3 import S3Client

from lumiku.settings_storage import S3Settings
from lumiku.storage.backend import StorageBackend
from lumiku.storage.local import LocalStorage
from lumiku.storage.s3 import S3Storage, make_client
from lumiku.testing.s3_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, S3Server

FOLDERS = ("avatar-creator", "pose-generator", "outputs")
FIXED_NOW = datetime(2025, 3, 14, 15, 9, 26, tzinfo=UTC)

# Keys an attacker might send; every storage operation must refuse them as Forbidden.
HOSTILE = [
    "../../etc/passwd",
    "avatar-creator/../../etc/passwd",
    "avatar-creator/2025/03/../../../outside/secret.png",
    "./avatar-creator/2025/03/0123456789abcdef0123456789abcdef.png",
    "/etc/passwd",
    "//server/share/file.png",
    "~/file.png",
    "avatar-creator\\..\\..\\etc\\passwd",
    "avatar-creator/2025/03/0123456789abcdef0123456789abcdef.png\x00.txt",
    "..%2f..%2fetc%2fpasswd",
    "avatar-creator%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "C:/Windows/win.ini",
    "c:avatar-creator/2025/03/0123456789abcdef0123456789abcdef.png",
    "file:///etc/passwd",
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that asks for ``hostile_key`` once per key in ``HOSTILE``."""
    if "hostile_key" in metafunc.fixturenames:
        metafunc.parametrize("hostile_key", HOSTILE)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """Return a directory next to the storage root holding a secret no key may reach."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "secret.png").write_bytes(b"top secret")
    return directory


@pytest.fixture
def local_storage(tmp_path: Path) -> LocalStorage:
    """Return a storage root with the startup layout and a clock stuck at ``FIXED_NOW``."""
    local = LocalStorage(tmp_path / "uploads", clock=lambda: FIXED_NOW)
    local.ensure_layout(FOLDERS)
    return local


def s3_settings(server: S3Server, bucket: str, **overrides: object) -> S3Settings:
    """Return the settings of ``bucket`` on ``server`` (quick timeouts, two attempts)."""
    values: dict[str, object] = {
        "bucket": bucket,
        "region": REGION,
        "endpoint_url": server.endpoint,
        "access_key_id": ACCESS_KEY_ID,
        "secret_access_key": SECRET_ACCESS_KEY,
        "connect_timeout": 2.0,
        "read_timeout": 10.0,
        "max_attempts": 2,
    }
    values.update(overrides)
    return S3Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def s3_client(s3_server: S3Server) -> S3Client:
    """Return one client made as the app makes it, shared by the tests (buckets differ)."""
    return make_client(s3_settings(s3_server, "unused"))


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageBackend:
    """Return a storage (the disk, then an S3 bucket of the test's own) with the startup
    layout and a clock stuck at ``FIXED_NOW``."""
    if request.param == "local":
        local: LocalStorage = request.getfixturevalue("local_storage")
        return local
    server: S3Server = request.getfixturevalue("s3_server")
    client = request.getfixturevalue("s3_client")
    settings = s3_settings(server, server.new_bucket())
    bucket = S3Storage(settings, client=client, clock=lambda: FIXED_NOW)
    bucket.ensure_layout(FOLDERS)
    return bucket


def stored(storage: StorageBackend) -> dict[str, bytes]:
    """Return every file in ``storage`` by key, with its content."""
    if isinstance(storage, LocalStorage):
        root = storage.root
        return {
            str(path.relative_to(root)): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }
    assert isinstance(storage, S3Storage)
    client, bucket = storage.client, storage.bucket
    names = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    return {name: client.get_object(Bucket=bucket, Key=name)["Body"].read() for name in names}
