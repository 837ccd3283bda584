"""``Idempotency-Key`` for charged POST routes.

The same key and body returns the first response; the same key with another body is 422;
a key whose first request is still running is 409, until the reservation is older than
its lease (the request died), when a retry takes it over. Stored in
``idempotent_requests`` so that retries survive restarts and work across instances.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lumiku import errors
from lumiku.db.tables import idempotent_requests

MAX_KEY_LENGTH = 255
DEFAULT_LEASE = dt.timedelta(seconds=120)
"""How long a reservation without an answer blocks retries before one may take it over."""


@attrs.frozen
class StoredResponse:
    """A response recorded for a key."""

    status_code: int
    body: bytes


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Return the hash that decides whether a retry is "the same request"."""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    """Reserve keys, record responses, and answer replays."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Callable[[], dt.datetime] | None = None,
        *,
        lease: dt.timedelta = DEFAULT_LEASE,
    ) -> None:
        self._engine = engine
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.lease = lease

    def begin(self, user_id: str, key: str, route: str, fingerprint: str) -> StoredResponse | None:
        """Reserve ``key``; return the stored response if this is a completed replay."""
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise errors.ValidationFailed(
                f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters.",
                details={"fields": {"Idempotency-Key": "invalid"}},
            )
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    idempotent_requests.insert().values(
                        user_id=user_id,
                        key=key,
                        route=route,
                        request_hash=fingerprint,
                        created_at=self._clock(),
                    )
                )
            return None
        except IntegrityError:
            pass
        with self._engine.connect() as conn:
            row = conn.execute(
                sa.select(idempotent_requests).where(
                    idempotent_requests.c.user_id == user_id, idempotent_requests.c.key == key
                )
            ).one_or_none()
        if row is None:  # released between our insert and select: the caller may retry
            raise errors.Conflict("A request with this Idempotency-Key just finished; retry.")
        if row.request_hash != fingerprint or row.route != route:
            raise errors.ValidationFailed(
                "This Idempotency-Key was used with a different request; use a new key.",
                details={"fields": {"Idempotency-Key": "reused with another body"}},
            )
        if row.status_code is None:
            if self._take_over(user_id, key, fingerprint):
                return None
            raise errors.Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly."
            )
        return StoredResponse(row.status_code, row.response_body or b"")

    def _take_over(self, user_id: str, key: str, fingerprint: str) -> bool:
        """Claim a reservation whose request died without an answer (older than the lease).

        The retry runs the handler again; handlers of charged routes derive their ledger keys
        from the Idempotency-Key, so work the dead request finished is not paid twice.
        """
        now = self._clock()
        with self._engine.begin() as conn:
            claimed = conn.execute(
                idempotent_requests.update()
                .where(
                    idempotent_requests.c.user_id == user_id,
                    idempotent_requests.c.key == key,
                    idempotent_requests.c.request_hash == fingerprint,
                    idempotent_requests.c.status_code.is_(None),
                    idempotent_requests.c.created_at < now - self.lease,
                )
                .values(created_at=now)
            )
        return claimed.rowcount == 1

    def finish(self, user_id: str, key: str, status_code: int, body: bytes) -> None:
        """Record the response of a reserved key."""
        with self._engine.begin() as conn:
            conn.execute(
                idempotent_requests.update()
                .where(idempotent_requests.c.user_id == user_id, idempotent_requests.c.key == key)
                .values(status_code=status_code, response_body=body)
            )

    def abandon(self, user_id: str, key: str) -> None:
        """Drop a reservation whose request failed unexpectedly, so a retry can run."""
        with self._engine.begin() as conn:
            conn.execute(
                idempotent_requests.delete().where(
                    idempotent_requests.c.user_id == user_id,
                    idempotent_requests.c.key == key,
                    idempotent_requests.c.status_code.is_(None),
                )
            )


def encode_body(data: Any) -> bytes:
    """Encode a JSON body the way it is stored."""
    return json.dumps(data, separators=(",", ":")).encode()
