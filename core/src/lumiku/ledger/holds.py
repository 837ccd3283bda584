"""Placing holds: credits reserved for queued work, taken from the available ones.

A hold raises the account's ``held`` with one conditional
``UPDATE ... WHERE balance - held >= :required`` and inserts the hold row; on PostgreSQL
the two are one statement, as for spends (see ``movements.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from lumiku.db.types import UTCDateTime
from lumiku.errors import InsufficientCredits
from lumiku.ledger.records import Hold
from lumiku.ledger.requests import HoldRequest
from lumiku.ledger.rows import find_hold_by_key, read_balance
from lumiku.ledger.store import Store, driver_sql, is_unique_violation
from lumiku.ledger.tables import credit_accounts, credit_holds

_HOLD_COLUMNS = (
    "id",
    "user_id",
    "amount",
    "captured",
    "status",
    "expires_at",
    "reference_type",
    "reference_id",
    "plugin",
    "idempotency_key",
    "created_at",
)


def _param(name: str, type_: sa.types.TypeEngine[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=type_)


def reserve_account() -> sa.UpdateBase:
    """Return the conditional update that moves ``:required`` available credits to held."""
    account = credit_accounts.c
    required = _param("required", sa.BigInteger())
    return (
        sa.update(credit_accounts)
        .where(account.user_id == _param("user", sa.String()))
        .where(account.balance - account.held >= required)
        .values(held=account.held + required, updated_at=_param("now", UTCDateTime()))
        .returning(account.user_id)
    )


def _hold_values(user_id: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
    return [
        _param("id", sa.String()),
        user_id,
        _param("amount", sa.BigInteger()),
        sa.literal_column("0", sa.BigInteger()),
        sa.literal_column("'held'", sa.String()),
        _param("expires_at", UTCDateTime()),
        _param("reference_type", sa.String()),
        _param("reference_id", sa.String()),
        _param("plugin", sa.String()),
        _param("key", sa.String()),
        _param("now", UTCDateTime()),
    ]


def insert_hold() -> sa.UpdateBase:
    """Return the hold insert of the multi-statement path."""
    values = _hold_values(_param("user", sa.String()))
    return sa.insert(credit_holds).values(dict(zip(_HOLD_COLUMNS, values, strict=True)))


def reserve_then_hold(reserve: sa.UpdateBase) -> sa.UpdateBase:
    """Return one statement: ``reserve`` as a CTE feeding the hold insert."""
    account = reserve.cte("account")
    return (
        sa.insert(credit_holds)
        .from_select(list(_HOLD_COLUMNS), sa.select(*_hold_values(account.c.user_id)))
        .returning(credit_holds.c.id)
    )


class Holds:
    """Place holds, exactly once per idempotency key."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._reserve = reserve_account()
        self._insert = insert_hold()
        postgres, engine = store.postgres, store.engine
        self._hold_once = driver_sql(reserve_then_hold(self._reserve), engine) if postgres else ""

    def place(self, request: HoldRequest) -> Hold:
        """Reserve ``request.amount`` available credits, or raise ``InsufficientCredits``."""
        hold_id = str(uuid.uuid4())
        now = self._store.now()
        params = request.params(hold_id, now)
        if self._store.postgres:
            try:
                placed = self._store.fetch_one(self._hold_once, params) is not None
            except sa.exc.IntegrityError as error:
                if not is_unique_violation(error):
                    raise
                placed = False  # the key is taken: a retry, or a reuse
            if placed:
                return request.recorded(hold_id, now)
            with self._store.statements() as connection:
                return self._recorded_or_refused(connection, request)
        with self._store.transaction() as connection:
            existing = find_hold_by_key(connection, request.key)
            if existing is not None:
                return request.replay(existing)
            if connection.execute(self._reserve, params).first() is None:
                return self._recorded_or_refused(connection, request)
            connection.execute(self._insert, params)
        return request.recorded(hold_id, now)

    @staticmethod
    def _recorded_or_refused(connection: sa.Connection, request: HoldRequest) -> Hold:
        existing = find_hold_by_key(connection, request.key)
        if existing is not None:
            return request.replay(existing)
        available = read_balance(connection, request.user_id).available
        raise InsufficientCredits(required=request.amount, available=available)
