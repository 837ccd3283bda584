"""``Idempotency-Key`` for POST/PUT routes declared ``idempotent=True``.

The same key and body returns the first response (``Idempotent-Replayed: true``); the same
key with another body is 422; a key whose request is still running is 409, until its
lease runs out (the request died), when a retry takes it over. Stored in
``idempotent_requests`` so that retries survive restarts and work across instances.

**Attempts.** A key's record also holds the number of the attempt that runs under it; it
lives here and nowhere else. Everything a request charges derives its ledger keys and the
ids of what it creates from ``(key, attempt)`` (see ``RequestKey``):

- a request that dies (a crash, a lost connection to the database) leaves its reservation
  until the lease runs out; the retry takes it over with the *same* attempt, so its spends
  and holds replay the ones already recorded and it is never charged twice;
- a request that fails and undoes every charge it made frees its reservation at once and
  moves the attempt on, so the retry is charged again, once, for the work it then does;
- a request that fails with a charge still standing (its undo failed) frees the reservation
  without moving the attempt on: the retry replays that charge.

Two concurrent requests with one key: the second gets 409 while the first runs, so the work
is done once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lumiku import errors
from lumiku.clock import Clock, utc_now
from lumiku.db.tables import idempotent_requests

MAX_KEY_LENGTH = 255
KEY_PATTERN = r"[^\x00-\x1f\x7f-\x9f]+"
"""A key's characters as the document declares them: no control characters. The server
takes any printable text (``str.isprintable``; UTF-8 in the header), so it also refuses
the few other non-printable characters (format, separators), which a pattern cannot name."""
DEFAULT_LEASE = dt.timedelta(seconds=120)
"""How long a reservation without an answer blocks retries before one may take it over."""
_TOKEN_LENGTH = 32
_IDS = uuid.UUID("5b0c1f8e-7a43-4c55-9a5d-3f1e6f2b9c10")


REPLAYED_HEADERS = ("location",)
"""Response headers a replay repeats (the others are the server's of the moment)."""


@attrs.frozen
class StoredResponse:
    """A response recorded for a key, with the headers a replay repeats."""

    status_code: int
    body: bytes
    headers: dict[str, str] = attrs.field(factory=dict)


@attrs.define
class RequestKey:
    """The idempotency of one request: the client's key (if any) and the attempt it runs as.

    ``token`` is a digest of the user and the client's ``Idempotency-Key`` (or a random
    token when the client sent none, or the route is not idempotent): unique per user,
    short, and free of whatever characters the header held. ``open_charges`` counts the
    charges this attempt made and did not undo; the charging primitives keep it, and the
    edge reads it when the request fails.
    """

    user_id: str
    header: str | None
    token: str
    attempt: int = 0
    open_charges: int = 0

    @classmethod
    def fresh(cls, user_id: str) -> RequestKey:
        """Return the key of a request without a client ``Idempotency-Key``."""
        return cls(user_id, None, secrets.token_hex(_TOKEN_LENGTH // 2))

    @classmethod
    def from_header(cls, user_id: str, header: str, attempt: int = 0) -> RequestKey:
        """Return the key of a request that sent ``Idempotency-Key: header``."""
        digest = hashlib.sha256(f"{user_id}\x00{header}".encode())
        token = digest.hexdigest()[:_TOKEN_LENGTH]
        return cls(user_id, header, token, attempt)

    @property
    def from_client(self) -> bool:
        """Return whether the client sent the key (so a retry can repeat it)."""
        return self.header is not None

    def ledger_key(self, owner: str, action: str) -> str:
        """Return the ledger idempotency key of ``owner``'s ``action`` in this attempt.

        At most 64 + 64 + 32 + 13 characters: within the ledger's 200 for callers' keys.
        """
        return f"{owner}:{action}:{self.token}:{self.attempt}"

    def stable_id(self, kind: str) -> str:
        """Return the id of the ``kind`` thing this attempt creates (a UUID string).

        With a client key it is derived from the user, the key and the attempt, so a retry
        of a request that died finds what the first try made; otherwise it is random.
        """
        if not self.from_client:
            return str(uuid.uuid4())
        name = "\x00".join((kind, self.token, str(self.attempt)))
        return str(uuid.uuid5(_IDS, name))


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    """Return the hash that decides whether a retry is "the same request"."""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    """Return ``key`` if it is 1-255 printable characters, else raise ``ValidationFailed``."""
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise errors.ValidationFailed(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters.",
            details={"fields": {"Idempotency-Key": "invalid"}},
        )
    return key


class IdempotencyStore:
    """Reserve keys, record responses, answer replays and count attempts."""

    def __init__(
        self, engine: sa.Engine, clock: Clock = utc_now, *, lease: dt.timedelta = DEFAULT_LEASE
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.lease = lease

    def begin(
        self, user_id: str, key: str, route: str, fingerprint: str
    ) -> RequestKey | StoredResponse:
        """Reserve ``key`` and return the attempt to run, or the stored response of a replay.

        Raise ``ValidationFailed`` (422) for a malformed key or one used with another
        request, ``Conflict`` (409) while another request holds the key.
        """
        check_key(key)
        now = self._clock()
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    idempotent_requests.insert().values(
                        user_id=user_id,
                        key=key,
                        route=route,
                        request_hash=fingerprint,
                        attempt=0,
                        created_at=now,
                        lease_expires_at=now + self.lease,
                    )
                )
            return RequestKey.from_header(user_id, key)
        except IntegrityError:
            pass
        row = self._find(user_id, key)
        if row is None:  # released between our insert and select: the caller may retry
            raise errors.Conflict("A request with this Idempotency-Key just finished; retry.")
        if row.request_hash != fingerprint or row.route != route:
            raise errors.ValidationFailed(
                "This Idempotency-Key was used with a different request; use a new key.",
                details={"fields": {"Idempotency-Key": "reused with another body"}},
            )
        if row.status_code is not None:
            headers = json.loads(row.response_headers) if row.response_headers else {}
            return StoredResponse(row.status_code, row.response_body or b"", headers)
        attempt = self._take_over(user_id, key, now)
        if attempt is None:
            raise errors.Conflict(
                "A request with this Idempotency-Key is still being processed; retry shortly."
            )
        return RequestKey.from_header(user_id, key, attempt)

    def _find(self, user_id: str, key: str) -> Any:
        with self._engine.connect() as conn:
            return conn.execute(
                sa.select(idempotent_requests).where(
                    idempotent_requests.c.user_id == user_id, idempotent_requests.c.key == key
                )
            ).one_or_none()

    def _take_over(self, user_id: str, key: str, now: dt.datetime) -> int | None:
        """Claim a reservation that was freed, or whose request died (past its lease).

        Return the attempt to run, or ``None`` while another request holds the key.
        """
        table = idempotent_requests.c
        with self._engine.begin() as conn:
            return conn.execute(
                idempotent_requests.update()
                .where(
                    table.user_id == user_id,
                    table.key == key,
                    table.status_code.is_(None),
                    sa.or_(table.lease_expires_at.is_(None), table.lease_expires_at < now),
                )
                .values(lease_expires_at=now + self.lease)
                .returning(table.attempt)
            ).scalar_one_or_none()

    def finish(
        self,
        request_key: RequestKey,
        status_code: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Record the response of a reserved key; replays answer it from now on.

        Of ``headers``, those in ``REPLAYED_HEADERS`` are kept for the replays.
        """
        kept = {
            name.lower(): value
            for name, value in (headers or {}).items()
            if name.lower() in REPLAYED_HEADERS
        }
        table = idempotent_requests.c
        with self._engine.begin() as conn:
            conn.execute(
                idempotent_requests.update()
                .where(table.user_id == request_key.user_id, table.key == request_key.header)
                .values(
                    status_code=status_code,
                    response_body=body,
                    response_headers=json.dumps(kept) if kept else None,
                    lease_expires_at=None,
                )
            )

    def advance(self, request_key: RequestKey) -> None:
        """Move a reserved key to its next attempt now (what it charged cannot be reused).

        Used when a retry finds the charge of its attempt already resolved (a hold that
        expired before the retry came): the new attempt places a new one.
        """
        table = idempotent_requests.c
        with self._engine.begin() as conn:
            conn.execute(
                idempotent_requests.update()
                .where(
                    table.user_id == request_key.user_id,
                    table.key == request_key.header,
                    table.status_code.is_(None),
                    table.attempt == request_key.attempt,
                )
                .values(attempt=table.attempt + 1)
            )
        request_key.attempt += 1

    def release(self, request_key: RequestKey) -> bool:
        """Free a reservation whose request failed without an answer to keep.

        The retry may run at once. The attempt moves on when this one left no charge
        standing (``open_charges == 0``); otherwise the retry runs the same attempt and its
        charges replay. Return whether the attempt moved on.
        """
        advance = request_key.open_charges == 0
        table = idempotent_requests.c
        with self._engine.begin() as conn:
            conn.execute(
                idempotent_requests.update()
                .where(
                    table.user_id == request_key.user_id,
                    table.key == request_key.header,
                    table.status_code.is_(None),
                    table.attempt == request_key.attempt,
                )
                .values(
                    lease_expires_at=None,
                    attempt=table.attempt + (1 if advance else 0),
                )
            )
        return advance


def encode_body(data: Any) -> bytes:
    """Encode a JSON body the way it is stored."""
    return json.dumps(data, separators=(",", ":")).encode()
