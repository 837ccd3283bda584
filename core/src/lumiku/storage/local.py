"""Files on the local disk under ``LUMIKU_STORAGE_DIR``, one folder per plugin."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from lumiku.errors import ConfigurationError, LumikuError, NotFound, ValidationFailed
from lumiku.storage.errors import UnsafeStorageKey
from lumiku.storage.keys import StorageKey, check_folder, new_key, parse_key

if TYPE_CHECKING:
    from lumiku.storage.signing import UrlSigner


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


class ScopedStorage:
    """One plugin's folder: store new files, read, check and delete the ones it owns."""

    def __init__(
        self,
        storage: LocalStorage,
        folder: str,
        *,
        clock: Callable[[], datetime] = _utc_now,
        signer: UrlSigner | None = None,
    ) -> None:
        self._storage = storage
        self._folder = check_folder(folder)
        self._clock = clock
        self._signer = signer

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

    def signed_key(self, url: str, *, field: str = "url") -> str:
        """Return the key of a file URL this server signed (``/files/<key>?expires&signature``).

        A signed URL is a capability: whoever holds it may read the file, whichever
        plugin's folder it is in (an avatar of another plugin, handed over as its URL).
        ``url`` may be absolute (any host) or a path. Raise ``ValidationFailed`` (422,
        naming ``field``) for a URL that is not one of this server's signed file URLs or
        whose signature is wrong or expired.
        """
        if self._signer is None:
            raise RuntimeError("this storage view was built without a URL signer")
        try:
            parts = urlsplit(url)
            query = parse_qs(parts.query, keep_blank_values=True)
        except ValueError:
            parts, query = None, {}
        prefix = self._signer.prefix + "/"
        if parts is None or not parts.path.startswith(prefix):
            raise _bad_url(field, f"must be a file URL of this server ({prefix}...)")
        key = unquote(parts.path[len(prefix) :])
        try:
            parse_key(key)
            self._signer.verify(key, _single(query, "expires"), _single(query, "signature"))
        except LumikuError as exc:  # a malformed key, a bad or expired signature
            raise _bad_url(field, exc.message) from None
        return key

    def read_signed(self, url: str, *, field: str = "url") -> bytes:
        """Return the bytes of the file a signed URL names (see :meth:`signed_key`).

        Raise ``ValidationFailed`` for a bad URL and ``NotFound`` when the file is gone.
        """
        key = self.signed_key(url, field=field)
        return self.read_any(key)

    def read_any(self, key: str) -> bytes:
        """Return the bytes of ``key`` in any folder: only for keys from :meth:`signed_key`
        or from another plugin's public service. Raise ``NotFound`` when it is gone."""
        path = self._storage.path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _not_found(key) from None

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


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values and len(values) == 1 else None


def _bad_url(field: str, rule: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field} {rule}; use a file URL exactly as this API returned it.",
        details={"fields": {field: rule}},
    )


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
