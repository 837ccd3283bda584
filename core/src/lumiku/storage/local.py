"""Files on the local disk under ``LUMIKU_STORAGE_DIR``, one folder per plugin."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from lumiku.errors import ConfigurationError
from lumiku.storage.backend import StoredFile
from lumiku.storage.errors import UnsafeStorageKey
from lumiku.storage.keys import StorageKey, check_folder, parse_key
from lumiku.storage.scoped import ScopedStorage

if TYPE_CHECKING:
    from lumiku.health import CheckResult
    from lumiku.storage.signing import UrlSigner

__all__ = ["LocalStorage", "ScopedStorage"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LocalStorage:
    """The storage root: creates the layout, resolves keys safely, hands out scoped views."""

    name = "local"

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

    def scoped(self, folder: str, *, signer: UrlSigner | None = None) -> ScopedStorage:
        """Return a view limited to ``folder``, the only one a plugin should be given.

        With ``signer``, the view also reads files of other folders named by a file URL
        that ``signer`` issued (:meth:`ScopedStorage.read_signed`).
        """
        return ScopedStorage(self, check_folder(folder), clock=self._clock, signer=signer)

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

    def validate(self, key: StorageKey) -> None:
        """Raise ``UnsafeStorageKey`` if ``key``'s path passes through a symlink."""
        self.resolve(key)

    def store(self, key: StorageKey, data: bytes) -> None:
        """Write ``data`` to a temporary file beside the target, sync it and rename it."""
        target = self.resolve(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # mkdir may have followed a symlinked year or month directory: check again.
        target = self.resolve(key)
        _write_atomically(target, data)

    def store_many(self, files: Sequence[tuple[StorageKey, bytes]]) -> None:
        """Store several files as ``store`` does, with one directory sync per directory.

        Each file is written to a temporary file and synced, then all are renamed into
        place and each directory is synced once: a pose's image and thumbnail cost three
        syncs instead of four. When it returns every file is durable; on an error the
        files already renamed and the temporary ones are removed.
        """
        targets: list[Path] = []
        for key, _ in files:
            target = self.resolve(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            targets.append(self.resolve(key))  # mkdir may have followed a symlink: again
        written: list[tuple[str, Path]] = []
        placed: list[Path] = []
        try:
            for target, (_, data) in zip(targets, files, strict=True):
                written.append((_write_synced(target.parent, data), target))
            for temporary, target in written:
                os.replace(temporary, target)
                placed.append(target)
            for directory in dict.fromkeys(target.parent for target in targets):
                _sync_directory(directory)
        except BaseException:
            for temporary, _ in written:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temporary)
            for target in placed:
                with contextlib.suppress(FileNotFoundError):
                    target.unlink()
            raise

    def fetch(self, key: StorageKey) -> bytes:
        """Return the file's bytes; raise ``FileNotFoundError`` when there is no file."""
        with self.open(key) as file:
            return file.read()

    def open(self, key: StorageKey) -> BinaryIO:
        """Open the file; raise ``FileNotFoundError`` when there is no file."""
        try:
            return self.resolve(key).open("rb")
        except (IsADirectoryError, NotADirectoryError):
            raise FileNotFoundError(str(key)) from None

    def contains(self, key: StorageKey) -> bool:
        """Return whether a regular file is stored under ``key``."""
        return self.resolve(key).is_file()

    def remove(self, key: StorageKey) -> bool:
        """Delete the file; return False if it was already gone."""
        try:
            self.resolve(key).unlink()
        except FileNotFoundError:
            return False
        return True

    def stream(self, key: StorageKey, *, chunk_size: int = 64 * 1024) -> StoredFile:
        """Open the file for streaming in ``chunk_size`` pieces."""
        file = self.open(key)
        size = os.fstat(file.fileno()).st_size
        return StoredFile(size=size, chunks=_chunks(file, chunk_size), close=file.close)

    def health(self, folders: Iterable[str]) -> CheckResult:
        """Return ``check_storage`` of this root and ``folders`` (writable, room left)."""
        from lumiku.storage.health import check_storage

        return check_storage(self, folders=folders)


def _chunks(file: BinaryIO, chunk_size: int) -> Iterator[bytes]:
    while chunk := file.read(chunk_size):
        yield chunk


def _write_atomically(target: Path, data: bytes) -> None:
    temporary = _write_synced(target.parent, data)
    try:
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(target.parent)


def _write_synced(directory: Path, data: bytes) -> str:
    """Write ``data`` to a new temporary file in ``directory``, synced; return its path."""
    descriptor, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return temporary


def _sync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
