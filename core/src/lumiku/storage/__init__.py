"""File storage: scoped local folders, the image upload check, and signed file URLs."""

from __future__ import annotations

from lumiku.storage.errors import (
    CorruptImage,
    ExpiredSignature,
    InvalidSignature,
    InvalidStorageKey,
    UnsafeStorageKey,
)
from lumiku.storage.health import check_storage
from lumiku.storage.images import CheckedImage, check_image, make_thumbnail
from lumiku.storage.keys import CONTENT_TYPES, StorageKey, parse_key
from lumiku.storage.local import LocalStorage, ScopedStorage
from lumiku.storage.routes import file_endpoint, file_route
from lumiku.storage.signing import UrlSigner

__all__ = [
    "CONTENT_TYPES",
    "CheckedImage",
    "CorruptImage",
    "ExpiredSignature",
    "InvalidSignature",
    "InvalidStorageKey",
    "LocalStorage",
    "ScopedStorage",
    "StorageKey",
    "UnsafeStorageKey",
    "UrlSigner",
    "check_image",
    "check_storage",
    "file_endpoint",
    "file_route",
    "make_thumbnail",
    "parse_key",
]
