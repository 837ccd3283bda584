"""One plugin's view of the storage: its own folder, plus files named by a signed URL.

The view is the same whichever backend holds the files (``LocalStorage`` on the disk,
``S3Storage`` in a bucket): keys are parsed and checked against the folder here, before
the backend is asked for anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from lumiku.errors import LumikuError, NotFound, ValidationFailed
from lumiku.storage.errors import UnsafeStorageKey
from lumiku.storage.keys import StorageKey, check_folder, new_key, parse_key

if TYPE_CHECKING:
    from lumiku.storage.backend import StorageBackend
    from lumiku.storage.signing import UrlSigner


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ScopedStorage:
    """One plugin's folder: store new files, read, check and delete the ones it owns."""

    def __init__(
        self,
        storage: StorageBackend,
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

        The write is whole (a temporary file renamed into place on disk, one PUT on a
        bucket), so readers never see a partial file.
        """
        key = new_key(self._folder, suffix, self._clock())
        self._storage.store(key, data)
        return str(key)

    def put_many(self, files: Sequence[tuple[bytes, str]]) -> list[str]:
        """Store each ``(data, suffix)`` under a new key; return the keys in that order.

        Every file is whole and durable when it returns, for one directory sync on disk
        (files stored at once share their month's folder) instead of one per file. If one
        cannot be stored, none is kept and the error is raised.
        """
        now = self._clock()
        keys = [new_key(self._folder, suffix, now) for _, suffix in files]
        self._storage.store_many([(key, data) for key, (data, _) in zip(keys, files, strict=True)])
        return [str(key) for key in keys]

    def path(self, key: str) -> Path:
        """Return the real path of ``key`` on the local disk; the file need not exist.

        Only the local backend has paths: on another one this raises ``RuntimeError``
        (use :meth:`open` or :meth:`read`, which work on every backend).
        """
        parsed = self._parse(key)
        resolve = getattr(self._storage, "resolve", None)
        if resolve is None:
            raise RuntimeError(f"files of the {self._storage.name} storage have no local path")
        path: Path = resolve(parsed)
        return path

    def exists(self, key: str) -> bool:
        """Return whether a file is stored under ``key``."""
        return self._storage.contains(self._parse(key))

    def open(self, key: str) -> BinaryIO:
        """Open the file stored under ``key`` for reading; raise ``NotFound`` if there is none."""
        parsed = self._parse(key)
        try:
            return self._storage.open(parsed)
        except FileNotFoundError:
            raise _not_found(key) from None

    def read(self, key: str) -> bytes:
        """Return the bytes stored under ``key``; raise ``NotFound`` if there is none."""
        return self._fetch(self._parse(key))

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
        return self._fetch(parse_key(key))

    def delete(self, key: str) -> bool:
        """Delete the file under ``key``; return False if it was already gone (idempotent)."""
        return self._storage.remove(self._parse(key))

    def delete_many(self, keys: Iterable[str]) -> int:
        """Delete every file in ``keys`` and return how many existed.

        All keys are validated before the first deletion, so one bad key deletes nothing.
        """
        parsed = [self._parse(key) for key in keys]
        for key in parsed:
            self._storage.validate(key)
        return sum(1 for key in parsed if self._storage.remove(key))

    def _fetch(self, key: StorageKey) -> bytes:
        try:
            return self._storage.fetch(key)
        except FileNotFoundError:
            raise _not_found(str(key)) from None

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
    reason = f"{rule.rstrip('.')}; use a file URL exactly as this API returned it"
    return ValidationFailed(
        f"The request body breaks the schema: {field}: {reason}",
        details={"fields": {field: reason}},
    )


def _not_found(key: str) -> NotFound:
    return NotFound(
        f"No file is stored under key {key!r}; it was never stored or has been deleted.",
        details={"key": key},
    )
