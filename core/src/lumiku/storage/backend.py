"""What a storage backend does for ``ScopedStorage``: bytes in and out under parsed keys.

Two backends implement it: ``LocalStorage`` (a directory, the embedded default) and
``S3Storage`` (a bucket of an S3-compatible store, shared by every node). Keys reach a
backend already parsed (``StorageKey``), so a backend never sees a client's text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, BinaryIO, Protocol

import attrs

if TYPE_CHECKING:
    from lumiku.health import CheckResult
    from lumiku.storage.keys import StorageKey
    from lumiku.storage.scoped import ScopedStorage
    from lumiku.storage.signing import UrlSigner


@attrs.frozen
class StoredFile:
    """An open stored file for streaming: ``size`` bytes in ``chunks``; ``close`` when done."""

    size: int
    chunks: Iterator[bytes]
    close: Callable[[], None]


class StorageBackend(Protocol):
    """A place files live. Every method may raise ``StorageUnavailable`` (503) when the
    place cannot be reached; ``name`` (``local``, ``s3``) is what health pages show."""

    name: str

    def ensure_layout(self, folders: Iterable[str]) -> None:
        """Prepare ``folders`` (created on disk; checked names only on a bucket)."""

    def scoped(self, folder: str, *, signer: UrlSigner | None = None) -> ScopedStorage:
        """Return a view limited to ``folder`` (see ``ScopedStorage``)."""

    def validate(self, key: StorageKey) -> None:
        """Raise ``UnsafeStorageKey`` if ``key`` cannot be used safely (a symlink on disk)."""

    def store(self, key: StorageKey, data: bytes) -> None:
        """Write ``data`` under ``key`` whole: readers never see part of it."""

    def store_many(self, files: Sequence[tuple[StorageKey, bytes]]) -> None:
        """Write each ``(key, data)`` whole, all durable when it returns (on disk: one
        directory sync per directory). On an error, the files it wrote are removed."""

    def fetch(self, key: StorageKey) -> bytes:
        """Return the bytes under ``key``; raise ``FileNotFoundError`` when there are none."""

    def open(self, key: StorageKey) -> BinaryIO:
        """Open ``key`` for reading; raise ``FileNotFoundError`` when there is no file."""

    def contains(self, key: StorageKey) -> bool:
        """Return whether a file is stored under ``key``."""

    def remove(self, key: StorageKey) -> bool:
        """Delete ``key``; return whether it existed."""

    def stream(self, key: StorageKey, *, chunk_size: int = 64 * 1024) -> StoredFile:
        """Open ``key`` for streaming; raise ``FileNotFoundError`` when there is no file."""

    def health(self, folders: Iterable[str]) -> CheckResult:
        """Return whether the files can be stored (see ``lumiku.storage.health``)."""
