"""Storage stores under server keys and never reads or writes outside its folder.

Tests asking for ``storage`` run on the local disk and on an S3 bucket; those asking for
``local_storage`` test the disk itself (temporary files, symlinks).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from mypy_boto3_s3 import S3Client

from lumiku.errors import ConfigurationError, Forbidden, LumikuError, NotFound, UnsupportedMedia
from lumiku.storage.backend import StorageBackend
from lumiku.storage.errors import InvalidStorageKey, UnsafeStorageKey
from lumiku.storage.local import LocalStorage, ScopedStorage
from lumiku.storage.s3 import S3Storage
from lumiku.testing.s3_server import S3Server

from .conftest import s3_settings, stored

FOLDERS = ("avatar-creator", "pose-generator", "outputs")


def snapshot(directory: Path) -> dict[str, bytes]:
    """Return every file below ``directory`` with its content."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_ensure_layout_creates_the_root_and_folders(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "var" / "uploads")

    storage.ensure_layout(FOLDERS)
    storage.ensure_layout(FOLDERS)  # idempotent, as every startup runs it

    assert sorted(p.name for p in storage.root.iterdir()) == sorted(FOLDERS)


def test_ensure_layout_refuses_a_folder_linked_elsewhere(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    (root / "outputs").symlink_to(outside, target_is_directory=True)

    with pytest.raises(ConfigurationError, match="must live inside the storage root"):
        LocalStorage(root).ensure_layout(FOLDERS)


def test_ensure_layout_refuses_bad_folder_names(tmp_path: Path) -> None:
    with pytest.raises(InvalidStorageKey):
        LocalStorage(tmp_path).ensure_layout(["../escape"])
    assert not (tmp_path.parent / "escape").exists()


def test_put_stores_under_a_dated_server_key(storage: StorageBackend) -> None:
    avatars = storage.scoped("avatar-creator")

    key = avatars.put(b"image bytes", suffix=".png")

    assert re.fullmatch(r"avatar-creator/2025/03/[0-9a-f]{32}\.png", key)
    assert avatars.read(key) == b"image bytes"
    assert avatars.exists(key)
    assert stored(storage) == {key: b"image bytes"}


def test_a_local_key_is_its_path_below_the_root(local_storage: LocalStorage) -> None:
    avatars = local_storage.scoped("avatar-creator")

    key = avatars.put(b"image bytes", suffix=".png")

    assert avatars.path(key) == local_storage.root / key


def test_files_in_a_bucket_have_no_local_path(s3_server: S3Server, s3_client: S3Client) -> None:
    bucket = S3Storage(s3_settings(s3_server, s3_server.new_bucket()), client=s3_client)
    avatars = bucket.scoped("avatar-creator")
    key = avatars.put(b"image bytes", suffix=".png")

    with pytest.raises(RuntimeError, match="no local path"):
        avatars.path(key)


def test_put_leaves_no_temporary_files(local_storage: LocalStorage) -> None:
    avatars = local_storage.scoped("avatar-creator")

    key = avatars.put(b"x" * 100_000, suffix=".jpg")

    assert list(avatars.path(key).parent.iterdir()) == [avatars.path(key)]


def test_put_cleans_up_when_the_write_fails(
    local_storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)

    with pytest.raises(OSError, match="No space left"):
        local_storage.scoped("outputs").put(b"data", suffix=".png")
    assert snapshot(local_storage.root) == {}


def test_put_refuses_suffixes_outside_the_allow_list(storage: StorageBackend) -> None:
    with pytest.raises(UnsupportedMedia):
        storage.scoped("outputs").put(b"<script>", suffix=".html")
    assert stored(storage) == {}


def test_open_streams_the_file(storage: StorageBackend) -> None:
    outputs = storage.scoped("outputs")
    key = outputs.put(b"zip bytes", suffix=".zip")

    with outputs.open(key) as file:
        assert file.read() == b"zip bytes"


def test_missing_files_are_not_found(storage: StorageBackend) -> None:
    outputs = storage.scoped("outputs")
    key = "outputs/2025/03/0123456789abcdef0123456789abcdef.png"

    assert not outputs.exists(key)
    with pytest.raises(NotFound, match="never stored or has been deleted"):
        outputs.read(key)


def test_delete_is_idempotent(storage: StorageBackend) -> None:
    outputs = storage.scoped("outputs")
    key = outputs.put(b"data", suffix=".png")

    assert outputs.delete(key) is True
    assert outputs.delete(key) is False
    assert not outputs.exists(key)


def test_delete_many_counts_the_files_that_existed(storage: StorageBackend) -> None:
    outputs = storage.scoped("outputs")
    keys = [outputs.put(b"data", suffix=".png") for _ in range(3)]
    outputs.delete(keys[0])

    assert outputs.delete_many(keys) == 2
    assert stored(storage) == {}


def test_delete_many_with_one_bad_key_deletes_nothing(storage: StorageBackend) -> None:
    outputs = storage.scoped("outputs")
    keys = [outputs.put(b"data", suffix=".png") for _ in range(2)]

    with pytest.raises(UnsafeStorageKey):
        outputs.delete_many([*keys, "../../etc/passwd"])
    assert all(outputs.exists(key) for key in keys)


def test_a_plugin_cannot_touch_another_plugins_files(storage: StorageBackend) -> None:
    key = storage.scoped("pose-generator").put(b"pose", suffix=".png")
    avatars = storage.scoped("avatar-creator")

    for action in (avatars.read, avatars.exists, avatars.delete, avatars.path):
        with pytest.raises(UnsafeStorageKey, match="limited to 'avatar-creator'"):
            action(key)
    assert storage.scoped("pose-generator").read(key) == b"pose"


def each_operation(scoped: ScopedStorage, key: str) -> list[LumikuError]:
    """Run every key-taking operation on ``key`` and return the errors they raised."""
    errors: list[LumikuError] = []
    operations = (
        scoped.path,
        scoped.exists,
        scoped.open,
        scoped.read,
        scoped.delete,
        lambda k: scoped.delete_many([k]),
    )
    for operation in operations:
        with pytest.raises(LumikuError) as caught:
            operation(key)
        errors.append(caught.value)
    return errors


def test_hostile_keys_never_leave_the_root(
    storage: StorageBackend, outside: Path, tmp_path: Path, hostile_key: str
) -> None:
    before, files = snapshot(tmp_path), stored(storage)

    errors = each_operation(storage.scoped("avatar-creator"), hostile_key)
    if isinstance(storage, LocalStorage):
        with pytest.raises(UnsafeStorageKey):
            storage.path(hostile_key)

    assert all(isinstance(error, Forbidden) for error in errors)
    assert snapshot(tmp_path) == before
    assert stored(storage) == files


def test_absolute_path_of_a_real_file_is_refused(storage: StorageBackend, outside: Path) -> None:
    errors = each_operation(storage.scoped("avatar-creator"), str(outside / "secret.png"))

    assert all(isinstance(error, UnsafeStorageKey) for error in errors)
    assert (outside / "secret.png").read_bytes() == b"top secret"


def test_a_symlinked_file_pointing_out_is_never_followed(
    local_storage: LocalStorage, outside: Path
) -> None:
    storage = local_storage
    avatars = storage.scoped("avatar-creator")
    key = "avatar-creator/2025/03/0123456789abcdef0123456789abcdef.png"
    link = storage.root / key
    link.parent.mkdir(parents=True)
    link.symlink_to(outside / "secret.png")

    errors = each_operation(avatars, key)

    assert all(isinstance(error, UnsafeStorageKey) for error in errors)
    assert (outside / "secret.png").read_bytes() == b"top secret"
    assert link.is_symlink()


def test_put_refuses_a_symlinked_month_directory(
    local_storage: LocalStorage, outside: Path, tmp_path: Path
) -> None:
    storage = local_storage
    year = storage.root / "avatar-creator" / "2025"
    year.mkdir()
    (year / "03").symlink_to(outside, target_is_directory=True)
    before = snapshot(outside)

    with pytest.raises(UnsafeStorageKey, match="symlink"):
        storage.scoped("avatar-creator").put(b"planted", suffix=".png")
    assert snapshot(outside) == before


def test_a_root_that_is_a_symlink_is_resolved_once(tmp_path: Path) -> None:
    real = tmp_path / "disk"
    real.mkdir()
    (tmp_path / "uploads").symlink_to(real, target_is_directory=True)
    storage = LocalStorage(tmp_path / "uploads")
    storage.ensure_layout(FOLDERS)

    key = storage.scoped("outputs").put(b"data", suffix=".png")

    assert storage.root == real
    assert (real / key).read_bytes() == b"data"


def test_the_unscoped_path_accepts_any_folder(local_storage: LocalStorage) -> None:
    storage = local_storage
    key = storage.scoped("outputs").put(b"data", suffix=".png")

    assert storage.path(key).read_bytes() == b"data"
    with pytest.raises(UnsafeStorageKey):
        storage.path("../uploads/" + key)


def test_put_many_stores_each_file_under_its_own_key(storage: StorageBackend) -> None:
    outputs = storage.scoped("outputs")

    keys = outputs.put_many([(b"image", ".png"), (b"thumb", ".jpg")])

    assert [key.rsplit(".", 1)[1] for key in keys] == ["png", "jpg"]
    assert keys[0] != keys[1]
    assert [outputs.read(key) for key in keys] == [b"image", b"thumb"]


def test_put_many_syncs_each_file_and_its_directory_once(
    local_storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs = local_storage.scoped("outputs")
    first = outputs.put(b"first", suffix=".png")  # the month's folder exists, as usual
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append("dir" if os.path.isdir(f"/proc/self/fd/{descriptor}") else "file")
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    keys = outputs.put_many([(b"image", ".png"), (b"thumb", ".jpg")])

    assert synced == ["file", "file", "dir"]  # the directory after the renames
    folder = outputs.path(first).parent
    assert set(folder.iterdir()) == {outputs.path(key) for key in [first, *keys]}


def test_put_many_keeps_nothing_when_one_file_fails(
    local_storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    calls: list[str] = []

    def replace(source: str, target: str) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)

    with pytest.raises(OSError, match="No space left"):
        local_storage.scoped("outputs").put_many([(b"image", ".png"), (b"thumb", ".jpg")])
    assert snapshot(local_storage.root) == {}
