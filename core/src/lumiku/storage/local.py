"""Files on the local disk under ``LUMIKU_STORAGE_DIR``, one folder per plugin."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from lumiku.errors import ConfigurationError, NotFound
from lumiku.storage.errors import UnsafeStorageKey
from lumiku.storage.keys import StorageKey, check_folder, new_key, parse_key


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LocalStorage:
    """The storage root: creates the layout, resolves keys safely, hands out scoped views."""

    def __init__(self, root: Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        # Resolved once, so a root that is itself a symlink (or a bind mount) is fine, while
        # every key is later checked against this real location.
        self._root = Path(root).resolve()
        self._clock = clock

    @property
    def root(self) -> Path:
        """Return the resolved root directory."""
        return self._root

    def ensure_layout(self, folders: Iterable[str]) -> None:
        """Create the root and each folder in it; refuse a folder that resolves elsewhere."""
        self._root.mkdir(parents=True, exist_ok=True)
        for folder in folders:
            directory = self._root / check_folder(folder)
            directory.mkdir(exist_ok=True)
            if directory.resolve() != directory:
                raise ConfigurationError(
                    f"Storage folder {directory} is a symlink to {directory.resolve()}; every "
                    "folder must live inside the storage root. Mount or link the whole "
                    "LUMIKU_STORAGE_DIR instead of single folders."
                )

    def scoped(self, folder: str) -> ScopedStorage:
        """Return a view limited to ``folder``, the only one a plugin should be given."""
        return ScopedStorage(self, check_folder(folder), clock=self._clock)

    def path(self, key: str) -> Path:
        """Return the real path for ``key``, after proving it stays inside its folder."""
        return self.resolve(parse_key(key))

    def resolve(self, key: StorageKey) -> Path:
        """Return the real path of a parsed key; raise ``UnsafeStorageKey`` if a symlink escapes."""
        folder = self._root / key.folder
        candidate = folder / str(key).removeprefix(f"{key.folder}/")
        real = candidate.resolve()
        # The server never creates links, so any link below the root is foreign: refusing
        # them all is simpler to reason about than deciding where each one leads.
        if real != candidate or not real.is_relative_to(folder):
            raise UnsafeStorageKey(
                f"Storage key {str(key)!r} passes through a symlink inside the storage "
                "directory; links below the root are never followed. Remove the link.",
                details={"key": str(key)},
            )
        return real


class ScopedStorage:
    """One plugin's folder: store new files, read, check and delete the ones it owns."""

    def __init__(
        self, storage: LocalStorage, folder: str, *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._storage = storage
        self._folder = check_folder(folder)
        self._clock = clock

    @property
    def folder(self) -> str:
        """Return the folder this view is limited to."""
        return self._folder

    def put(self, data: bytes, *, suffix: str) -> str:
        """Store ``data`` under a new server-generated key and return the key.

        The file is written to a temporary name in the target directory, flushed to disk
        and renamed into place, so readers never see a partial file.
        """
        key = new_key(self._folder, suffix, self._clock())
        target = self._storage.resolve(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # mkdir may have followed a symlinked year or month directory: check again.
        target = self._storage.resolve(key)
        _write_atomically(target, data)
        return str(key)

    def path(self, key: str) -> Path:
        """Return the real path of ``key``; the file need not exist."""
        return self._storage.resolve(self._parse(key))

    def exists(self, key: str) -> bool:
        """Return whether a file is stored under ``key``."""
        return self.path(key).is_file()

    def open(self, key: str) -> BinaryIO:
        """Open the file stored under ``key`` for reading; raise ``NotFound`` if there is none."""
        path = self.path(key)
        try:
            return path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _not_found(key) from None

    def read(self, key: str) -> bytes:
        """Return the bytes stored under ``key``; raise ``NotFound`` if there is none."""
        with self.open(key) as file:
            return file.read()

    def delete(self, key: str) -> bool:
        """Delete the file under ``key``; return False if it was already gone (idempotent)."""
        try:
            self.path(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete every file in ``keys`` and return how many existed.

        All keys are validated before the first deletion, so one bad key deletes nothing.
        """
        paths = [self.path(key) for key in keys]
        deleted = 0
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                deleted += 1
        return deleted

    def _parse(self, key: str) -> StorageKey:
        parsed = parse_key(key)
        if parsed.folder != self._folder:
            raise UnsafeStorageKey(
                f"Storage key {key!r} belongs to folder {parsed.folder!r}, and this storage is "
                f"limited to {self._folder!r}; a plugin can only use files it stored itself.",
                details={"key": key, "folder": self._folder},
            )
        return parsed


def _write_atomically(target: Path, data: bytes) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(target.parent)


def _sync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _not_found(key: str) -> NotFound:
    return NotFound(
        f"No file is stored under key {key!r}; it was never stored or has been deleted.",
        details={"key": key},
    )
