"""The storage health check: the root exists, is a directory, accepts a write, has room."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable

from lumiku.health import CheckResult
from lumiku.storage.backend import StorageBackend
from lumiku.storage.local import LocalStorage

DEFAULT_MIN_FREE_BYTES = 100 * 1024 * 1024
logger = logging.getLogger("lumiku.health")


def check_storage(
    storage: StorageBackend,
    *,
    folders: Iterable[str] = (),
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
) -> CheckResult:
    """Check the storage root and ``folders``; ``down`` if unusable, ``degraded`` if nearly full.

    The write is real (a probe file created and removed) because permission bits alone say
    nothing about read-only mounts, full disks or a process running as root. Details name
    ``LUMIKU_STORAGE_DIR``, never the path (the log has it). Another backend (an S3
    bucket) answers its own check: the bucket reachable, no endpoint or bucket named.
    """
    if not isinstance(storage, LocalStorage):
        return storage.health(folders)
    root = storage.root
    if not root.is_dir():
        logger.warning("storage check: %s is not a directory", root)
        return CheckResult(
            "down", "LUMIKU_STORAGE_DIR is not a directory; create LUMIKU_STORAGE_DIR"
        )
    missing = [folder for folder in folders if not (root / folder).is_dir()]
    if missing:
        logger.warning("storage check: missing under %s: %s", root, ", ".join(missing))
        return CheckResult(
            "down", f"missing in LUMIKU_STORAGE_DIR: {', '.join(missing)}; restart to create"
        )
    try:
        _probe_write(root)
        free = shutil.disk_usage(root).free
    except OSError as exc:
        logger.warning("storage check: %s is not writable", root, exc_info=exc)
        reason = exc.strerror or type(exc).__name__  # the OS's short reason, never the path
        return CheckResult(
            "down", f"LUMIKU_STORAGE_DIR is not writable ({reason}); check owner and mount"
        )
    free_mb = free // (1024 * 1024)
    if free < min_free_bytes:
        return CheckResult("degraded", f"only {free_mb} MB free in LUMIKU_STORAGE_DIR; free some")
    return CheckResult("ok", f"writable, {free_mb} MB free")


def _probe_write(root: os.PathLike[str]) -> None:
    descriptor, probe = tempfile.mkstemp(dir=root, prefix=".health-", suffix=".probe")
    try:
        os.write(descriptor, b"ok")
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
        os.unlink(probe)
