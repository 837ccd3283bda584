"""Open the storage the settings choose: the local disk (default) or an S3 bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lumiku.storage.local import LocalStorage

if TYPE_CHECKING:
    from lumiku.settings import Settings
    from lumiku.storage.backend import StorageBackend


def open_storage(settings: Settings) -> StorageBackend:
    """Return the backend of ``LUMIKU_STORAGE``: ``LocalStorage`` under ``LUMIKU_STORAGE_DIR``
    or ``S3Storage`` on ``LUMIKU_S3_BUCKET``. No I/O happens here (boto3 is imported only
    when S3 is chosen)."""
    if settings.s3 is None:
        return LocalStorage(settings.storage_dir)
    from lumiku.storage.s3 import S3Storage

    # One connection per thread of the process's threadpool (SERVER_THREADS).
    return S3Storage(settings.s3, connections=settings.limits.threads)
