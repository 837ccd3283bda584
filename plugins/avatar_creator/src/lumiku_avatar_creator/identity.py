"""Ids and idempotency keys: fresh ones, or derived from a client's Idempotency-Key.

A retry that repeats the client's ``Idempotency-Key`` derives the same avatar or
generation id and the same ledger key, so it finds what the first attempt did instead of
charging again.
"""

from __future__ import annotations

import hashlib
import uuid

_NAMESPACE = uuid.UUID("5b0c1f8e-7a43-4c55-9a5d-3f1e6f2b9c10")


def new_id() -> str:
    """Return a fresh random id."""
    return str(uuid.uuid4())


def derived_id(*parts: str) -> str:
    """Return the id that ``parts`` always map to."""
    return str(uuid.uuid5(_NAMESPACE, "\x00".join(parts)))


def request_token(header: str | None) -> tuple[str, bool]:
    """Return ``(token, from_client)``: a digest of the client's key, or a fresh token.

    The digest keeps ledger keys short and free of whatever characters the header held.
    """
    if header:
        return hashlib.sha256(header.encode("utf-8")).hexdigest()[:48], True
    return uuid.uuid4().hex, False
