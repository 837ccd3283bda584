"""Turn result rows of the ledger's tables into records, and look single rows up."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import sqlalchemy as sa

from lumiku.ledger.records import (
    Balance,
    Entry,
    EntryKind,
    Finding,
    Hold,
    HoldStatus,
    Reference,
)
from lumiku.ledger.tables import credit_accounts, credit_entries, credit_holds

Row = Mapping[Any, Any]


def reference_of(row: Row) -> Reference | None:
    """Return the row's reference, or ``None`` when it has none."""
    if row["reference_type"] is None or row["reference_id"] is None:
        return None
    return Reference(row["reference_type"], row["reference_id"])


def entry_from(row: Row) -> Entry:
    """Build an ``Entry`` from a full ``credit_entries`` row."""
    return Entry(
        id=int(row["id"]),
        user_id=row["user_id"],
        amount=int(row["amount"]),
        kind=cast(EntryKind, row["kind"]),
        balance_after=int(row["balance_after"]),
        reason=row["reason"],
        idempotency_key=row["idempotency_key"],
        created_at=row["created_at"],
        reference=reference_of(row),
        plugin=row["plugin"],
    )


def hold_from(row: Row) -> Hold:
    """Build a ``Hold`` from a full ``credit_holds`` row."""
    resolved_at = row["resolved_at"]
    return Hold(
        id=row["id"],
        user_id=row["user_id"],
        amount=int(row["amount"]),
        captured=int(row["captured"]),
        status=cast(HoldStatus, row["status"]),
        expires_at=row["expires_at"],
        reference=Reference(row["reference_type"], row["reference_id"]),
        idempotency_key=row["idempotency_key"],
        created_at=row["created_at"],
        plugin=row["plugin"],
        resolved_at=resolved_at,
    )


def finding_from(row: Row) -> Finding:
    """Build a ``Finding`` from a full ``reconciliation_findings`` row."""
    return Finding(
        id=int(row["id"]),
        run_id=row["run_id"],
        user_id=row["user_id"],
        kind=row["kind"],
        expected=int(row["expected"]),
        actual=int(row["actual"]),
        difference=int(row["difference"]),
        detail=row["detail"],
        created_at=row["created_at"],
        source=row["source"],
    )


def find_entry(connection: sa.Connection, key: str) -> Entry | None:
    """Return the entry recorded under idempotency ``key``, if any."""
    row = (
        connection.execute(sa.select(credit_entries).where(credit_entries.c.idempotency_key == key))
        .mappings()
        .first()
    )
    return None if row is None else entry_from(row)


def find_purchase(connection: sa.Connection, reference: Reference) -> Entry | None:
    """Return the purchase entry that credits the payment ``reference`` names, if any."""
    entries = credit_entries.c
    row = (
        connection.execute(
            sa.select(credit_entries).where(
                entries.kind == "purchase",
                entries.reference_type == reference.type,
                entries.reference_id == reference.id,
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else entry_from(row)


def find_hold(connection: sa.Connection, hold_id: str) -> Hold | None:
    """Return the hold with ``hold_id``, if any."""
    row = (
        connection.execute(sa.select(credit_holds).where(credit_holds.c.id == hold_id))
        .mappings()
        .first()
    )
    return None if row is None else hold_from(row)


def find_hold_by_key(connection: sa.Connection, key: str) -> Hold | None:
    """Return the hold placed under idempotency ``key``, if any."""
    row = (
        connection.execute(sa.select(credit_holds).where(credit_holds.c.idempotency_key == key))
        .mappings()
        .first()
    )
    return None if row is None else hold_from(row)


def read_balance(connection: sa.Connection, user_id: str) -> Balance:
    """Return the account's balance; an account not created yet has none."""
    row = connection.execute(
        sa.select(credit_accounts.c.balance, credit_accounts.c.held).where(
            credit_accounts.c.user_id == user_id
        )
    ).first()
    if row is None:
        return Balance(0, 0)
    return Balance(int(row.balance), int(row.held))
