"""The storage health check reports down, degraded or ok, with the reason."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from lumiku.storage.health import check_storage
from lumiku.storage.local import LocalStorage

FOLDERS = ("avatar-creator", "pose-generator", "outputs")


@pytest.fixture
def storage(local_storage: LocalStorage) -> LocalStorage:
    """Return the local storage only: the disk check (the S3 check is in test_s3.py)."""
    return local_storage


def test_a_writable_root_with_its_folders_is_ok(storage: LocalStorage) -> None:
    result = check_storage(storage, folders=FOLDERS, min_free_bytes=0)

    assert result.status == "ok"
    assert result.detail.startswith("writable, ")
    assert sorted(path.name for path in storage.root.iterdir()) == sorted(FOLDERS)


def test_a_missing_root_is_down(tmp_path: Path) -> None:
    result = check_storage(LocalStorage(tmp_path / "nowhere"))

    assert result.status == "down"
    assert "create LUMIKU_STORAGE_DIR" in result.detail


def test_a_root_that_is_a_file_is_down(tmp_path: Path) -> None:
    (tmp_path / "uploads").write_bytes(b"")

    assert check_storage(LocalStorage(tmp_path / "uploads")).status == "down"


def test_a_missing_folder_is_down(storage: LocalStorage) -> None:
    (storage.root / "outputs").rmdir()

    result = check_storage(storage, folders=FOLDERS)

    assert result.status == "down"
    assert "outputs" in result.detail


def test_a_root_that_refuses_writes_is_down(
    storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, for whom permission bits do not apply: fake a read-only mount.
    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)

    result = check_storage(storage)

    assert result.status == "down"
    assert "Read-only file system" in result.detail
    assert str(storage.root) not in result.detail


def test_a_nearly_full_disk_is_degraded(storage: LocalStorage) -> None:
    result = check_storage(storage, min_free_bytes=2**62)

    assert result.status == "degraded"
    assert "free some" in result.detail
    assert str(storage.root) not in result.detail
