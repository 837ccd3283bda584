"""Resolving holds: capture, release, and expiry by the sweeper.

Every resolution is one conditional ``UPDATE credit_holds ... WHERE status = 'held'``
followed, in the same transaction, by the account change. Whoever changes the status
first resolves the hold; everyone after matches no row and is answered from what was
recorded. So a hold resolves exactly once, and a capture racing the sweeper has one
winner. The sweeper locks its batch with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so it
neither waits for nor deadlocks with a capture in flight: that capture decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from lumiku.db.types import UTCDateTime
from lumiku.ledger.errors import CaptureExceedsHold, HoldAlreadyResolved, HoldNotFound
from lumiku.ledger.movements import insert_entry
from lumiku.ledger.reasons import capture_reason
from lumiku.ledger.records import Capture, Hold
from lumiku.ledger.requests import EntryRequest
from lumiku.ledger.rows import find_entry, find_hold, hold_from
from lumiku.ledger.store import Store
from lumiku.ledger.tables import credit_accounts, credit_holds
from lumiku.ledger.validation import RESERVED_KEY_PREFIX
from lumiku.wording import plural

EXPIRY_BATCH = 500


def capture_key(hold_id: str) -> str:
    """Return the idempotency key of the entry that records the capture of ``hold_id``."""
    return f"{RESERVED_KEY_PREFIX}capture:{hold_id}"


def _resolve(hold_id: str, status: str, now: datetime) -> sa.Update:
    holds = credit_holds.c
    return (
        sa.update(credit_holds)
        .where(holds.id == hold_id, holds.status == "held")
        .values(status=status, resolved_at=now)
        .returning(*credit_holds.c)
    )


class Settlement:
    """Capture, release and expire holds, each hold exactly once."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._insert_entry = insert_entry()
        account = credit_accounts.c
        self._unhold = (
            sa.update(credit_accounts)
            .where(account.user_id == sa.bindparam("account", type_=sa.String()))
            .values(
                held=account.held - sa.bindparam("released", type_=sa.BigInteger()),
                updated_at=sa.bindparam("now", type_=UTCDateTime()),
            )
        )

    @contextmanager
    def _transaction(self, connection: sa.Connection | None) -> Iterator[sa.Connection]:
        """The store's own transaction, or a savepoint in the caller's (``connection``)."""
        if connection is None:
            with self._store.transaction() as own:
                yield own
            return
        with connection.begin_nested():
            yield connection

    def capture(
        self,
        hold_id: str,
        amount: int | None,
        reason: str | None = None,
        connection: sa.Connection | None = None,
    ) -> Capture:
        """Charge ``amount`` (all when ``None``) of an open hold and release the rest.

        ``reason`` is the entry's history line (default: the work the hold was for).
        """
        now = self._store.now()
        holds = credit_holds.c
        statement = _resolve(hold_id, "captured", now).values(
            captured=holds.amount if amount is None else amount
        )
        if amount is not None:
            statement = statement.where(holds.amount >= amount)
        with self._transaction(connection) as connection:
            row = connection.execute(statement).mappings().first()
            if row is None:
                return self._recorded_capture(connection, hold_id, amount)
            hold = hold_from(row)
            account = credit_accounts.c
            balance = connection.execute(
                sa.update(credit_accounts)
                .where(account.user_id == hold.user_id)
                .values(
                    balance=account.balance - hold.captured,
                    held=account.held - hold.amount,
                    updated_at=now,
                )
                .returning(account.balance)
            ).scalar_one()
            if hold.captured == 0:
                return Capture(hold, None)
            request = EntryRequest(
                user_id=hold.user_id,
                amount=-hold.captured,
                kind="capture",
                reason=reason or capture_reason(hold.reference),
                key=capture_key(hold.id),
                plugin=hold.plugin,
                reference=hold.reference,
            )
            params = {**request.params(now), "balance_after": balance}
            entry_id = connection.execute(self._insert_entry, params).scalar_one()
        return Capture(hold, request.recorded(entry_id, balance, now))

    def release(self, hold_id: str, connection: sa.Connection | None = None) -> Hold:
        """Give an open hold's credits back to the available ones."""
        now = self._store.now()
        with self._transaction(connection) as connection:
            row = connection.execute(_resolve(hold_id, "released", now)).mappings().first()
            if row is None:
                return self._recorded_release(connection, hold_id)
            hold = hold_from(row)
            connection.execute(
                self._unhold, {"account": hold.user_id, "released": hold.amount, "now": now}
            )
        return hold

    def expire(self, cutoff: datetime) -> int:
        """Expire open holds whose ``expires_at`` is at or before ``cutoff``; return how many."""
        total = 0
        while True:
            expired = self._expire_batch(cutoff)
            total += expired
            if expired < EXPIRY_BATCH:
                return total

    def _expire_batch(self, cutoff: datetime) -> int:
        now = self._store.now()
        holds = credit_holds.c
        due = (
            sa.select(holds.id)
            .where(holds.status == "held", holds.expires_at <= cutoff)
            .order_by(holds.expires_at, holds.id)
            .limit(EXPIRY_BATCH)
            .with_for_update(skip_locked=True)
        )
        statement = (
            sa.update(credit_holds)
            .where(holds.id.in_(due), holds.status == "held")
            .values(status="expired", resolved_at=now)
            .returning(holds.user_id, holds.amount)
        )
        with self._store.transaction() as connection:
            rows = connection.execute(statement).all()
            released: defaultdict[str, int] = defaultdict(int)
            for row in rows:
                released[row.user_id] += int(row.amount)
            if released:
                # A fixed order of account locks keeps concurrent sweepers from deadlocking.
                connection.execute(
                    self._unhold,
                    [
                        {"account": user_id, "released": amount, "now": now}
                        for user_id, amount in sorted(released.items())
                    ],
                )
        return len(rows)

    @staticmethod
    def _recorded_capture(connection: sa.Connection, hold_id: str, amount: int | None) -> Capture:
        hold = find_hold(connection, hold_id)
        if hold is None:
            raise HoldNotFound(hold_id)
        requested = hold.amount if amount is None else amount
        if hold.status == "held":
            raise CaptureExceedsHold(hold_id, requested, hold.amount)
        if hold.status == "captured" and hold.captured == requested:
            return Capture(hold, find_entry(connection, capture_key(hold.id)))
        raise HoldAlreadyResolved(
            hold.id, hold.status, hold.captured, f"captured for {plural(requested, 'credit')}"
        )

    @staticmethod
    def _recorded_release(connection: sa.Connection, hold_id: str) -> Hold:
        hold = find_hold(connection, hold_id)
        if hold is None:
            raise HoldNotFound(hold_id)
        if hold.status == "captured":
            raise HoldAlreadyResolved(hold.id, hold.status, hold.captured, "released")
        return hold
