"""Hear of every change to accounts and revocations, on PostgreSQL, with a lease.

The triggers of migration ``0007_auth_notices`` send ``NOTIFY lumiku_auth, '<user id>'``
from every transaction that changes ``users`` or adds to ``revoked_tokens``; PostgreSQL
delivers it when that transaction commits. A ``ChangeFeed`` (one thread per server
process) listens on its own connection and tells the ``AccountCache`` to forget that user.

Hearing of a change some time after it committed is not enough to refuse a revoked token
at once, so the feed also holds a **lease**: every ``HEARTBEAT_SECONDS`` it sends a
``SELECT 1`` on the listening connection. PostgreSQL sends a listener the notices of every
transaction committed before a query before that query's answer, and the feed handles
them as they arrive, so when the answer comes every change committed before the query was
sent has been applied. The lease is ``fresh()`` for ``LEASE_SECONDS`` after the sending of
the last answered heartbeat; the cache is used only while it is. A request that revokes
(logout, a password change, a role change) waits ``SETTLE_SECONDS`` (more than the lease)
after its commit before it answers (``settle``): by then no process can still be serving
from a cache that has not heard of it, since its lease would have been taken before the
commit. A dead connection, a slow heartbeat, a database without the triggers: the lease
lapses and every request reads the account again (slower, never wrong).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

logger = logging.getLogger("lumiku.auth")

CHANNEL = "lumiku_auth"
HEARTBEAT_SECONDS = 0.02
LEASE_SECONDS = 0.1
SETTLE_SECONDS = LEASE_SECONDS + 0.05
"""How long a revoking request waits after its commit; more than the lease, for clock rates."""
RETRY_SECONDS = 1.0
_TRIGGERS_PRESENT = "SELECT count(*) FROM pg_trigger WHERE tgname = 'revoked_tokens_auth_notice'"


def settle() -> None:
    """Wait until no process's cache can predate a change just committed (``SETTLE_SECONDS``)."""
    time.sleep(SETTLE_SECONDS)


class ChangeFeed:
    """Listen for account changes; ``on_change(user_id)`` (``None``: anything may have changed)."""

    def __init__(self, conninfo: str, on_change: Callable[[str | None], None]) -> None:
        """Listen with ``conninfo`` (a libpq connection string or URL) once ``start``-ed."""
        self._conninfo = conninfo
        self._on_change = on_change
        self._confirmed = float("-inf")
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def fresh(self) -> bool:
        """Return whether every change committed more than a lease ago has been heard of."""
        return time.monotonic() < self._confirmed + LEASE_SECONDS

    def start(self) -> None:
        """Start listening in a daemon thread."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="lumiku-auth-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; the lease lapses at once."""
        self._stopping.set()
        self._confirmed = float("-inf")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _notice(self, notice: Any) -> None:
        payload = str(notice.payload)
        self._on_change(None if payload in ("", "*") else payload)

    def _run(self) -> None:
        problem = ""
        while not self._stopping.is_set():
            try:
                self._listen()
            except (psycopg.Error, OSError) as exc:
                if type(exc).__name__ != problem:
                    problem = type(exc).__name__
                    logger.warning("⚠️ Account change feed interrupted (%s); retrying", problem)
            finally:
                self._confirmed = float("-inf")
                self._on_change(None)
            self._stopping.wait(RETRY_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as connection:
            if not connection.execute(_TRIGGERS_PRESENT).fetchone()[0]:  # type: ignore[index]
                # Migration 0007 not applied yet: no notices, so no cache; check again later.
                self._stopping.wait(RETRY_SECONDS * 4)
                return
            connection.add_notify_handler(self._notice)
            connection.execute(f"LISTEN {CHANNEL}")
            self._on_change(None)  # what changed before LISTEN was never heard of
            while not self._stopping.is_set():
                sent = time.monotonic()
                connection.execute("SELECT 1")  # the notices before it arrive before its answer
                self._confirmed = sent
                self._stopping.wait(HEARTBEAT_SECONDS)
