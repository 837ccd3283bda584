"""Changes of a balance, each recorded as one entry: spends, grants, adjustments.

A debit is one conditional ``UPDATE ... WHERE balance - held >= :required RETURNING`` plus
the entry insert; a credit is an upsert of the account plus the entry insert. The balance
is never read into Python and written back.

On PostgreSQL both halves are one statement (the account change is a CTE feeding the
insert), run as its own transaction on the pooled driver connection (``Store.fetch_one``):
one round trip, and the account row stays locked only while that statement runs. A retry
trips the unique idempotency key, which aborts the whole statement; the recorded entry is
then looked up. On SQLite the key is looked up first, inside the ``BEGIN IMMEDIATE``
transaction that makes the ledger its only writer.

A purchase names its payment (``reference``), and the database holds at most one purchase
entry per payment (a partial unique index, migration ``0005_purchase_once``). A second
purchase for a payment under the same key is a retry and returns the recorded entry; under
another key it is refused with ``PurchaseAlreadyCredited`` (409) and changes nothing.

A credit that would take a balance past ``BALANCE_CEILING`` writes nothing: the upsert's
``DO UPDATE ... WHERE balance + :amount <= ceiling`` returns no row, and
``BalanceCeiling`` (409 ``BALANCE_CEILING``) is raised.

``credit_within`` writes a credit in the caller's transaction, inside a savepoint: it
commits or rolls back with the caller's own writes (a payment marked paid and its purchase
entry), and a refused write leaves the caller's transaction usable.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lumiku.credit_limits import BALANCE_CEILING
from lumiku.db.types import UTCDateTime
from lumiku.errors import InsufficientCredits
from lumiku.ledger.errors import BalanceCeiling, PurchaseAlreadyCredited, UnknownAccount
from lumiku.ledger.records import Entry
from lumiku.ledger.requests import EntryRequest
from lumiku.ledger.rows import find_entry, find_purchase, read_balance
from lumiku.ledger.store import (
    Store,
    driver_sql,
    is_foreign_key_violation,
    is_unique_violation,
)
from lumiku.ledger.tables import credit_accounts, credit_entries

_CEILING = sa.literal_column(str(BALANCE_CEILING), sa.BigInteger())
_ENTRY_COLUMNS = (
    "user_id",
    "amount",
    "kind",
    "balance_after",
    "reference_type",
    "reference_id",
    "plugin",
    "reason",
    "idempotency_key",
    "created_at",
)


def _param(name: str, type_: sa.types.TypeEngine[Any]) -> sa.BindParameter[Any]:
    return sa.bindparam(name, type_=type_)


def _now() -> sa.BindParameter[Any]:
    return _param("now", UTCDateTime())


def debit_account() -> sa.UpdateBase:
    """Return the conditional update that takes ``:required`` credits from available ones."""
    account = credit_accounts.c
    required = _param("required", sa.BigInteger())
    return (
        sa.update(credit_accounts)
        .where(account.user_id == _param("user", sa.String()))
        .where(account.balance - account.held >= required)
        .values(balance=account.balance - required, updated_at=_now())
        .returning(account.user_id, account.balance)
    )


def credit_account(postgres: bool) -> sa.UpdateBase:
    """Return the upsert that adds ``:amount`` credits, creating the account if needed.

    It returns no row when the new balance would pass ``BALANCE_CEILING`` (a new account
    starts at one operation's amount, which is far below).
    """
    insert = postgresql.insert if postgres else sqlite.insert
    statement = insert(credit_accounts).values(
        user_id=_param("user", sa.String()),
        balance=_param("amount", sa.BigInteger()),
        held=sa.literal_column("0"),
        updated_at=_now(),
    )
    return statement.on_conflict_do_update(
        index_elements=[credit_accounts.c.user_id],
        set_={
            "balance": credit_accounts.c.balance + statement.excluded.balance,
            "updated_at": statement.excluded.updated_at,
        },
        where=credit_accounts.c.balance + statement.excluded.balance <= _CEILING,
    ).returning(credit_accounts.c.user_id, credit_accounts.c.balance)


def _entry_values(
    user_id: sa.ColumnElement[Any], balance: sa.ColumnElement[Any]
) -> list[sa.ColumnElement[Any]]:
    return [
        user_id,
        _param("amount", sa.BigInteger()),
        _param("kind", sa.String()),
        balance,
        _param("reference_type", sa.String()),
        _param("reference_id", sa.String()),
        _param("plugin", sa.String()),
        _param("reason", sa.String()),
        _param("key", sa.String()),
        _now(),
    ]


def insert_entry() -> sa.UpdateBase:
    """Return the entry insert of the multi-statement path (``:balance_after`` is bound)."""
    values = _entry_values(_param("user", sa.String()), _param("balance_after", sa.BigInteger()))
    return (
        sa.insert(credit_entries)
        .values(dict(zip(_ENTRY_COLUMNS, values, strict=True)))
        .returning(credit_entries.c.id)
    )


def account_then_entry(account_change: sa.UpdateBase) -> sa.UpdateBase:
    """Return one statement: ``account_change`` as a CTE feeding the entry insert."""
    account = account_change.cte("account")
    rows = sa.select(*_entry_values(account.c.user_id, account.c.balance))
    return (
        sa.insert(credit_entries)
        .from_select(list(_ENTRY_COLUMNS), rows)
        .returning(credit_entries.c.id, credit_entries.c.balance_after)
    )


def _over_ceiling(connection: sa.Connection, request: EntryRequest) -> BalanceCeiling:
    balance = read_balance(connection, request.user_id).balance
    return BalanceCeiling(request.user_id, request.amount, balance, BALANCE_CEILING)


class Movements:
    """Write debits and credits of balances, exactly once per idempotency key."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._debit = debit_account()
        self._credit = credit_account(store.postgres)
        self._insert_entry = insert_entry()
        postgres, engine = store.postgres, store.engine
        self._debit_once = driver_sql(account_then_entry(self._debit), engine) if postgres else ""
        self._credit_once = driver_sql(account_then_entry(self._credit), engine) if postgres else ""

    def debit(self, request: EntryRequest) -> Entry:
        """Take ``-request.amount`` from the available credits, or raise ``InsufficientCredits``."""
        if self._store.postgres:
            return self._write_postgres(request, self._debit_once)
        return self._write_sqlite(request, self._debit)

    def credit(self, request: EntryRequest) -> Entry:
        """Add ``request.amount`` to the balance, creating the account on the first credit."""
        if self._store.postgres:
            return self._write_postgres(request, self._credit_once)
        return self._write_sqlite(request, self._credit)

    def credit_within(self, connection: sa.Connection, request: EntryRequest) -> Entry:
        """Add ``request.amount`` in the caller's transaction on ``connection`` (a savepoint).

        The entry commits or rolls back with the caller's transaction. A retry (the key is
        recorded) returns the recorded entry; a refusal leaves the transaction usable.
        """
        now = self._store.now()
        existing = find_entry(connection, request.key)
        if existing is not None:
            return request.replay(existing)
        self._refuse_second_purchase(connection, request)
        params = request.params(now)
        try:
            with connection.begin_nested():
                account = connection.execute(self._credit, params).first()
                if account is None:  # over the ceiling: nothing was written
                    raise _over_ceiling(connection, request)
                params["balance_after"] = account.balance
                entry_id = connection.execute(self._insert_entry, params).scalar_one()
        except sa.exc.IntegrityError as error:
            if is_foreign_key_violation(error):
                raise UnknownAccount(request.user_id) from error
            if not is_unique_violation(error):
                raise
            # A concurrent transaction recorded the key or the purchase first.
            return self._recorded_or_refused(connection, request)
        return request.recorded(entry_id, account.balance, now)

    def _write_postgres(self, request: EntryRequest, sql: str) -> Entry:
        now = self._store.now()
        try:
            row = self._store.fetch_one(sql, request.params(now))
        except sa.exc.IntegrityError as error:
            if is_foreign_key_violation(error):
                raise UnknownAccount(request.user_id) from error
            if not is_unique_violation(error):
                raise
            row = None  # the key is taken: a retry, or a reuse
        if row is not None:
            entry_id, balance_after = row
            return request.recorded(entry_id, balance_after, now)
        with self._store.statements() as connection:
            return self._recorded_or_refused(connection, request)

    def _write_sqlite(self, request: EntryRequest, account_change: sa.UpdateBase) -> Entry:
        now = self._store.now()
        params = request.params(now)
        try:
            with self._store.transaction() as connection:
                existing = find_entry(connection, request.key)
                if existing is not None:
                    return request.replay(existing)
                self._refuse_second_purchase(connection, request)
                account = connection.execute(account_change, params).first()
                if account is None:
                    return self._recorded_or_refused(connection, request)
                params["balance_after"] = account.balance
                entry_id = connection.execute(self._insert_entry, params).scalar_one()
        except sa.exc.IntegrityError as error:
            if is_foreign_key_violation(error):
                raise UnknownAccount(request.user_id) from error
            raise
        return request.recorded(entry_id, account.balance, now)

    @staticmethod
    def _refuse_second_purchase(connection: sa.Connection, request: EntryRequest) -> None:
        """Raise ``PurchaseAlreadyCredited`` when another entry credits the same payment."""
        reference = request.reference
        if request.kind != "purchase" or reference is None:
            return
        if find_purchase(connection, reference) is not None:
            raise PurchaseAlreadyCredited(reference)

    @classmethod
    def _recorded_or_refused(cls, connection: sa.Connection, request: EntryRequest) -> Entry:
        existing = find_entry(connection, request.key)
        if existing is not None:
            return request.replay(existing)
        cls._refuse_second_purchase(connection, request)
        if request.amount > 0:
            # The upsert writes unless the balance would pass the ceiling.
            raise _over_ceiling(connection, request)
        available = read_balance(connection, request.user_id).available
        raise InsufficientCredits(required=-request.amount, available=available)
