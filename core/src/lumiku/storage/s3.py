"""Files in a bucket of an S3-compatible store (AWS S3, MinIO, Ceph...), shared by every node.

``LUMIKU_STORAGE=s3`` selects it (``lumiku.settings_storage`` reads the bucket, endpoint,
region and keys). Objects are named ``<LUMIKU_S3_PREFIX><storage key>``; the store is
reached through boto3 with bounded connect and read timeouts and a few retries in
botocore's ``standard`` mode. Files are still served by ``GET /files/...`` with this
server's signed URLs, streamed from the bucket (docs/decisions.md says why), so the store
need not be reachable by clients.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lumiku.health import CheckResult
from lumiku.settings_storage import S3Settings
from lumiku.storage.backend import StoredFile
from lumiku.storage.errors import StorageUnavailable
from lumiku.storage.keys import StorageKey, check_folder
from lumiku.storage.scoped import ScopedStorage

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

    from lumiku.storage.signing import UrlSigner

logger = logging.getLogger("lumiku.storage")
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


def _utc_now() -> datetime:
    return datetime.now(UTC)


def make_client(settings: S3Settings, *, connections: int = 10) -> S3Client:
    """Return a thread-safe boto3 S3 client for ``settings`` (no request is made) that
    keeps up to ``connections`` connections open (the threads that may use it at once)."""
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"total_max_attempts": settings.max_attempts, "mode": "standard"},
        # Path-style addressing for self-hosted stores, whose buckets have no DNS names.
        s3={"addressing_style": "path" if settings.endpoint_url else "auto"},
        signature_version="s3v4",
        # As many connections as threads use the client at once, so that concurrent
        # requests do not open and discard connections beyond the pool.
        max_pool_connections=connections,
    )
    # A session of its own: boto3's default session is not safe to share across threads.
    session = boto3.session.Session()
    return session.client(
        "s3",
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        aws_access_key_id=settings.access_key_id,
        aws_secret_access_key=settings.secret_access_key,
        config=config,
    )


class S3Storage:
    """The bucket: hands out scoped views and stores, reads and deletes their objects.

    Every operation raises ``StorageUnavailable`` (503) when the store cannot be reached or
    refuses the request (the log has the store's reason); a missing object is
    ``FileNotFoundError``, which the scoped view turns into ``NotFound``.
    """

    name = "s3"

    def __init__(
        self,
        settings: S3Settings,
        *,
        client: S3Client | None = None,
        connections: int = 10,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._settings = settings
        self._bucket = settings.bucket
        self._prefix = settings.prefix
        self._client = (
            client if client is not None else make_client(settings, connections=connections)
        )
        self._clock = clock

    def __repr__(self) -> str:
        return f"S3Storage(bucket={self._bucket!r}, prefix={self._prefix!r})"

    @property
    def bucket(self) -> str:
        """Return the bucket's name."""
        return self._bucket

    @property
    def client(self) -> S3Client:
        """Return the boto3 client (for tools and tests; plugins use their scoped view)."""
        return self._client

    def ensure_layout(self, folders: Iterable[str]) -> None:
        """Check the folder names; a bucket has no folders to create."""
        for folder in folders:
            check_folder(folder)

    def scoped(self, folder: str, *, signer: UrlSigner | None = None) -> ScopedStorage:
        """Return a view limited to ``folder`` (see ``LocalStorage.scoped``)."""
        return ScopedStorage(self, check_folder(folder), clock=self._clock, signer=signer)

    def object_name(self, key: StorageKey) -> str:
        """Return the object's name in the bucket: the prefix and the key."""
        return f"{self._prefix}{key}"

    def validate(self, key: StorageKey) -> None:
        """Accept every parsed key: object names cannot lead anywhere else."""

    def store(self, key: StorageKey, data: bytes) -> None:
        """Upload ``data`` in one PUT (objects appear whole or not at all)."""
        with self._reaching("store"):
            self._client.put_object(
                Bucket=self._bucket,
                Key=self.object_name(key),
                Body=data,
                ContentType=key.content_type,
            )

    def store_many(self, files: Sequence[tuple[StorageKey, bytes]]) -> None:
        """Upload each file in its own PUT; on an error remove the ones uploaded."""
        stored: list[StorageKey] = []
        try:
            for key, data in files:
                self.store(key, data)
                stored.append(key)
        except BaseException:
            for key in stored:
                with contextlib.suppress(Exception):
                    self.remove(key)
            raise

    def fetch(self, key: StorageKey) -> bytes:
        """Return the object's bytes; raise ``FileNotFoundError`` when there is none."""
        with self._reaching("read"):
            response = self._get(key)
            body = response["Body"]
            try:
                return body.read()
            finally:
                body.close()

    def open(self, key: StorageKey) -> BinaryIO:
        """Return the object's bytes as a file (stored files are small: read whole)."""
        return io.BytesIO(self.fetch(key))

    def contains(self, key: StorageKey) -> bool:
        """Return whether the object exists (a HEAD request)."""
        with self._reaching("check"):
            try:
                self._client.head_object(Bucket=self._bucket, Key=self.object_name(key))
            except ClientError as exc:
                if _code(exc) in _MISSING:
                    return False
                raise
            return True

    def remove(self, key: StorageKey) -> bool:
        """Delete the object; return whether it existed (S3's DELETE does not say: a HEAD
        asks first, so two deletions racing may both answer True)."""
        existed = self.contains(key)
        if existed:
            with self._reaching("delete"):
                self._client.delete_object(Bucket=self._bucket, Key=self.object_name(key))
        return existed

    def stream(self, key: StorageKey, *, chunk_size: int = 64 * 1024) -> StoredFile:
        """Open the object for streaming; raise ``FileNotFoundError`` when there is none."""
        with self._reaching("read"):
            response = self._get(key)
        body = response["Body"]
        return StoredFile(
            size=int(response["ContentLength"]),
            chunks=_guarded(body.iter_chunks(chunk_size)),
            close=body.close,
        )

    def check(self) -> CheckResult:
        """Return ``ok`` when the bucket answers a HEAD request, ``down`` otherwise.

        The detail names the error's type or the store's code, never the endpoint, the
        bucket or a key (the log has them).
        """
        try:
            self._client.head_bucket(Bucket=self._bucket)
        except ClientError as exc:
            logger.warning("S3 bucket %s refused the health check: %s", self._bucket, exc)
            return CheckResult("down", f"S3 bucket not usable ({_code(exc)})")
        except BotoCoreError as exc:
            logger.warning("S3 store unreachable for the health check: %s", exc)
            return CheckResult("down", f"S3 store unreachable ({type(exc).__name__})")
        return CheckResult("ok", "S3 bucket reachable")

    def health(self, folders: Iterable[str]) -> CheckResult:
        """Return :meth:`check` (a bucket has no folders to look for)."""
        return self.check()

    def _get(self, key: StorageKey) -> GetObjectOutputTypeDef:
        try:
            return self._client.get_object(Bucket=self._bucket, Key=self.object_name(key))
        except ClientError as exc:
            if _code(exc) in _MISSING:
                raise FileNotFoundError(str(key)) from None
            raise

    @contextlib.contextmanager
    def _reaching(self, action: str) -> Iterator[None]:
        # The store's failures become StorageUnavailable; FileNotFoundError goes by.
        try:
            yield
        except (ClientError, BotoCoreError) as exc:
            reason = _code(exc) if isinstance(exc, ClientError) else type(exc).__name__
            logger.error("S3 %s failed in bucket %s: %s", action, self._bucket, exc)
            raise StorageUnavailable(
                f"The file storage cannot {action} files right now ({reason}); try again shortly.",
                details={"reason": reason},
            ) from exc


def _guarded(chunks: Iterator[bytes]) -> Iterator[bytes]:
    # A failure mid-stream can no longer change the status: log it and end the body early.
    try:
        yield from chunks
    except (ClientError, BotoCoreError) as exc:
        logger.error("S3 stream broke off: %s", exc)
        raise


def _code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or "unknown")
