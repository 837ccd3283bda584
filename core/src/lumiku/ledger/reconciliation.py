"""Reconciliation: check the accounts against their entries and holds, record what is off.

Checks (each one SQL statement, so each sees one consistent snapshot):

- ``balance_mismatch``: an account's balance differs from the sum of its entries;
- ``held_mismatch``: an account's held credits differ from the sum of its open holds;
- ``expired_hold``: a hold is still open past its expiry (plus a grace for the sweeper);
- ``duplicate_purchase``: one payment reference was credited by more than one purchase
  (the database's unique index makes this impossible; the check reports a database that
  lost the index);
- ``invalid_value``: a stored balance, held, amount or ``balance_after`` is not a whole
  number within the ceiling (a float, text, a number past it; see ``stored_values``). The
  accounts holding one are left out of the checks above, which could not sum them.

Checks contributed by plugins (``register_reconciliation_checks``) run after these, in the
same transaction, each inside a savepoint: a check that raises is rolled back alone and
reported as a ``check_failed`` finding, the others still run. Each ``Discrepancy`` a check
returns becomes a finding whose ``source`` is the check's name (``<plugin id>.<check>``).

Findings are stored in ``reconciliation_findings`` under one ``run_id``. Only a balance
mismatch is corrected by an entry: ``correct`` posts an ``adjustment`` entry of exactly the
difference, without moving the balance, so that the entries explain the balance again
(see ``Ledger.correct``).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from lumiku.ledger.errors import DriftChanged, UncorrectableFinding, UnknownAccount
from lumiku.ledger.movements import insert_entry
from lumiku.ledger.reasons import correction_reason
from lumiku.ledger.records import Discrepancy, Entry, Finding, Reference
from lumiku.ledger.requests import EntryRequest
from lumiku.ledger.rows import find_entry, finding_from
from lumiku.ledger.store import Store
from lumiku.ledger.stored_values import INVALID_VALUE, find_invalid_values
from lumiku.ledger.tables import (
    LEDGER_SOURCE,
    credit_accounts,
    credit_entries,
    credit_holds,
    reconciliation_findings,
)
from lumiku.wording import plural

logger = logging.getLogger("lumiku.ledger")

ReconciliationCheck = Callable[[sa.Connection], Iterable[Discrepancy]]
"""A plugin's check: given a connection (read only, in the run's transaction), return what
disagrees. One SQL statement per direction sees one consistent snapshot."""

CHECK_FAILED = "check_failed"
"""The kind of the finding that stands for a check that raised."""
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_DETAIL_LENGTH = 1000


def purchase_entries(reference_type: str) -> sa.Subquery:
    """Return the purchase entries that credit payments of ``reference_type``, for checks.

    Columns: ``user_id``, ``reference_id`` (the payment's id), ``amount`` (credits),
    ``idempotency_key``, ``created_at``. A plugin's reconciliation check joins its payments
    to it without reading the ledger's tables itself.
    """
    entries = credit_entries.c
    return (
        sa.select(
            entries.user_id,
            entries.reference_id,
            entries.amount,
            entries.idempotency_key,
            entries.created_at,
        )
        .where(entries.kind == "purchase", entries.reference_type == reference_type)
        .subquery("purchase_entries")
    )


def _amounts_by_user(table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.Subquery:
    return (
        sa.select(table.c.user_id, sa.func.sum(table.c.amount).label("total"))
        .where(*where)
        .group_by(table.c.user_id)
        .subquery()
    )


def _mismatches(
    connection: sa.Connection, column: sa.Column[int], totals: sa.Subquery, skipped: Skipped
) -> list[sa.Row[Any]]:
    expected = sa.func.coalesce(totals.c.total, 0)
    query = (
        sa.select(credit_accounts.c.user_id, expected.label("expected"), column.label("actual"))
        .select_from(
            credit_accounts.outerjoin(totals, totals.c.user_id == credit_accounts.c.user_id)
        )
        .where(column != expected, _kept(credit_accounts, skipped))
        .order_by(credit_accounts.c.user_id)
    )
    return list(connection.execute(query).all())


Skipped = frozenset[str]
"""The users whose stored values are invalid: left out of the checks that sum them."""


def _kept(table: sa.Table, skipped: Skipped) -> sa.ColumnElement[bool]:
    return table.c.user_id.not_in(sorted(skipped)) if skipped else sa.true()


def _finding(user_id: str, kind: str, expected: int, actual: int, detail: str) -> dict[str, Any]:
    return {
        "user_id": user_id,
        "kind": kind,
        "expected": expected,
        "actual": actual,
        "difference": actual - expected,
        "detail": detail,
    }


def _invalid_value_findings(connection: sa.Connection) -> tuple[list[dict[str, Any]], Skipped]:
    invalid = find_invalid_values(connection)
    findings = [_finding(item.user_id, INVALID_VALUE, 0, 0, item.detail()) for item in invalid]
    return findings, frozenset(item.user_id for item in invalid)


def _balance_findings(connection: sa.Connection, skipped: Skipped) -> list[dict[str, Any]]:
    totals = _amounts_by_user(credit_entries, _kept(credit_entries, skipped))
    return [
        _finding(
            row.user_id,
            "balance_mismatch",
            int(row.expected),
            int(row.actual),
            f"balance is {int(row.actual)} but the entries sum to {int(row.expected)}",
        )
        for row in _mismatches(connection, credit_accounts.c.balance, totals, skipped)
    ]


def _held_findings(connection: sa.Connection, skipped: Skipped) -> list[dict[str, Any]]:
    totals = _amounts_by_user(
        credit_holds, credit_holds.c.status == "held", _kept(credit_holds, skipped)
    )
    return [
        _finding(
            row.user_id,
            "held_mismatch",
            int(row.expected),
            int(row.actual),
            f"held is {int(row.actual)} but the open holds sum to {int(row.expected)}",
        )
        for row in _mismatches(connection, credit_accounts.c.held, totals, skipped)
    ]


def _expired_hold_findings(
    connection: sa.Connection, cutoff: datetime, skipped: Skipped
) -> list[dict[str, Any]]:
    holds = credit_holds.c
    query = (
        sa.select(holds.id, holds.user_id, holds.amount, holds.expires_at)
        .where(holds.status == "held", holds.expires_at <= cutoff, _kept(credit_holds, skipped))
        .order_by(holds.expires_at, holds.id)
    )
    return [
        _finding(
            row.user_id,
            "expired_hold",
            0,
            int(row.amount),
            f"hold {row.id} of {plural(int(row.amount), 'credit')} expired at "
            f"{row.expires_at} and is still held; run expire_holds()",
        )
        for row in connection.execute(query)
    ]


def _duplicate_purchase_findings(connection: sa.Connection) -> list[dict[str, Any]]:
    entries = credit_entries.c
    copies = sa.func.count().label("copies")
    query = (
        sa.select(entries.user_id, entries.reference_type, entries.reference_id, copies)
        .where(entries.kind == "purchase", entries.reference_id.is_not(None))
        .group_by(entries.user_id, entries.reference_type, entries.reference_id)
        .having(sa.func.count() > 1)
        .order_by(entries.user_id)
    )
    return [
        _finding(
            row.user_id,
            "duplicate_purchase",
            1,
            int(row.copies),
            f"{int(row.copies)} purchase entries credit {row.reference_type} "
            f"{row.reference_id}; a payment is credited once",
        )
        for row in connection.execute(query)
    ]


def _from_discrepancy(source: str, item: object) -> dict[str, Any]:
    if not isinstance(item, Discrepancy):
        raise TypeError(f"a check returns Discrepancy records, not {type(item).__name__}")
    if not _KIND.match(item.kind):
        raise ValueError(f"kind {item.kind!r} is not snake_case of at most 32 characters")
    if not isinstance(item.user_id, str) or not 0 < len(item.user_id) <= 36:
        raise ValueError(f"user_id {item.user_id!r} is not a user id")
    for name in ("expected", "actual"):
        if type(getattr(item, name)) is not int:
            raise TypeError(f"{name} is a whole number, not {getattr(item, name)!r}")
    return {
        **_finding(
            item.user_id, item.kind, item.expected, item.actual, item.detail[:_DETAIL_LENGTH]
        ),
        "source": source,
    }


def _run_check(
    connection: sa.Connection, name: str, check: ReconciliationCheck
) -> list[dict[str, Any]]:
    """Run one contributed check in a savepoint; a failure is one ``check_failed`` finding."""
    try:
        with connection.begin_nested() as savepoint:
            found = [_from_discrepancy(name, item) for item in check(connection)]
            savepoint.rollback()  # a check reads; whatever it wrote is undone
    except Exception as exc:  # one failing check must not stop the others (logged)
        logger.error("❌ reconciliation check %s failed", name, exc_info=exc)
        detail = f"the check raised {type(exc).__name__}: {exc}"[:_DETAIL_LENGTH]
        return [{**_finding("", CHECK_FAILED, 0, 0, detail), "source": name}]
    return found


class Reconciliation:
    """Run the checks, store the findings, and correct balance mismatches."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._insert_entry = insert_entry()

    def run(
        self, expiry_cutoff: datetime, checks: Mapping[str, ReconciliationCheck] | None = None
    ) -> list[Finding]:
        """Check every account, then run ``checks`` (name -> check); store what is off
        under a new run id and return it."""
        run_id = str(uuid.uuid4())
        now = self._store.now()
        with self._store.transaction() as connection:
            invalid, skipped = _invalid_value_findings(connection)
            found = [
                {**finding, "source": LEDGER_SOURCE}
                for finding in (
                    *invalid,
                    *_balance_findings(connection, skipped),
                    *_held_findings(connection, skipped),
                    *_expired_hold_findings(connection, expiry_cutoff, skipped),
                    *_duplicate_purchase_findings(connection),
                )
            ]
            for name, check in sorted((checks or {}).items()):
                found.extend(_run_check(connection, name, check))
            if not found:
                return []
            connection.execute(
                sa.insert(reconciliation_findings),
                [{**finding, "run_id": run_id, "created_at": now} for finding in found],
            )
            rows = connection.execute(
                sa.select(reconciliation_findings)
                .where(reconciliation_findings.c.run_id == run_id)
                .order_by(reconciliation_findings.c.id)
            ).mappings()
            return [finding_from(row) for row in rows]

    def correct(self, finding: Finding, key: str) -> Entry:
        """Post an adjustment entry of ``finding.difference``; the balance stays as it is."""
        if finding.kind != "balance_mismatch":
            raise UncorrectableFinding(finding.id, finding.kind)
        request = EntryRequest(
            user_id=finding.user_id,
            amount=finding.difference,
            kind="adjustment",
            reason=correction_reason(finding.difference),
            key=key,
            reference=Reference("reconciliation_finding", str(finding.id)),
        )
        now = self._store.now()
        accounts = credit_accounts.c
        with self._store.transaction() as connection:
            # Locking the account keeps every movement out until the entry is written.
            balance = connection.execute(
                sa.select(accounts.balance)
                .where(accounts.user_id == finding.user_id)
                .with_for_update()
            ).scalar_one_or_none()
            if balance is None:
                raise UnknownAccount(finding.user_id)
            existing = find_entry(connection, key)
            if existing is not None:
                return request.replay(existing)
            total = connection.execute(
                sa.select(sa.func.coalesce(sa.func.sum(credit_entries.c.amount), 0)).where(
                    credit_entries.c.user_id == finding.user_id
                )
            ).scalar_one()
            drift = int(balance) - int(total)
            if drift != finding.difference:
                raise DriftChanged(finding.id, finding.difference, drift)
            params = {**request.params(now), "balance_after": int(balance)}
            entry_id = connection.execute(self._insert_entry, params).scalar_one()
        return request.recorded(entry_id, int(balance), now)
