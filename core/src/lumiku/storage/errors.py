"""Errors of the storage package; each is a subclass of a core error, so the HTTP edge maps it."""

from __future__ import annotations

from typing import Any

from lumiku.errors import BadRequest, Forbidden, ServiceUnavailable


class InvalidStorageKey(BadRequest):
    """A storage key is not in the form the server generates."""

    code = "INVALID_STORAGE_KEY"


class UnsafeStorageKey(Forbidden):
    """A storage key tries to reach outside the storage root or its plugin's folder."""

    code = "UNSAFE_STORAGE_KEY"


class CorruptImage(BadRequest):
    """An upload claims an accepted image format but cannot be decoded completely."""

    code = "CORRUPT_IMAGE"


class InvalidSignature(Forbidden):
    """A file URL has no signature, a malformed one, or one that does not match."""

    code = "INVALID_SIGNATURE"


class ExpiredSignature(Forbidden):
    """A file URL was signed correctly but its expiry time has passed."""

    code = "SIGNATURE_EXPIRED"


class DecodingBusy(ServiceUnavailable):
    """The process is decoding as many image pixels as it may; retry in ``retry_after`` s."""

    code = "IMAGE_DECODING_BUSY"

    def __init__(self, message: str, *, retry_after: int, details: dict[str, Any]) -> None:
        super().__init__(message, details={"retryAfter": retry_after, **details})
        self.retry_after = retry_after


class StorageUnavailable(ServiceUnavailable):
    """The file store (an S3 bucket) cannot be reached or refused the request; retry later."""

    code = "STORAGE_UNAVAILABLE"
