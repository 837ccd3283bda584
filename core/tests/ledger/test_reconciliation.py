"""Reconciliation finds drift made behind the ledger's back; a correction fixes it once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku import Discrepancy
from lumiku.ledger import (
    DriftChanged,
    IdempotencyKeyReused,
    Ledger,
    Reference,
    UncorrectableFinding,
)
from lumiku.ledger.tables import (
    PURCHASE_REFERENCE_INDEX,
    credit_accounts,
    reconciliation_findings,
)
from lumiku.testing import ManualClock

Check = Callable[[str], tuple[int, int]]
JOB = Reference("generation", "g1")


@pytest.fixture
def ledger_engine(fresh_engine: sa.Engine) -> sa.Engine:
    """Give every test a database of its own: reconciliation looks at every account."""
    return fresh_engine


def _execute(engine: sa.Engine, statement: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(statement))


def _corrupt_balance(engine: sa.Engine, user_id: str, by: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.update(credit_accounts)
            .where(credit_accounts.c.user_id == user_id)
            .values(balance=credit_accounts.c.balance + by)
        )


def test_consistent_ledger_has_no_findings(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine
) -> None:
    hold = ledger.hold(funded, 10, JOB, "hold:1", timedelta(minutes=1))
    ledger.hold(funded, 20, JOB, "hold:2", timedelta(minutes=1))
    ledger.spend(funded, 5, "upload", "spend:1")
    ledger.capture(hold.id, 4)

    assert ledger.reconcile() == []
    with ledger_engine.connect() as connection:
        stored = connection.execute(sa.select(sa.func.count()).select_from(reconciliation_findings))
        assert stored.scalar_one() == 0


def test_balance_changed_by_direct_sql_is_found_with_the_exact_difference(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine
) -> None:
    ledger.spend(funded, 30, "upload", "spend:1")
    _corrupt_balance(ledger_engine, funded, 25)

    findings = ledger.reconcile()

    assert len(findings) == 1
    finding = findings[0]
    assert (finding.kind, finding.user_id) == ("balance_mismatch", funded)
    assert (finding.expected, finding.actual, finding.difference) == (70, 95, 25)
    with ledger_engine.connect() as connection:
        stored = connection.execute(
            sa.select(reconciliation_findings).where(reconciliation_findings.c.id == finding.id)
        ).one()
    assert (stored.run_id, stored.difference, stored.kind) == (finding.run_id, 25, finding.kind)


def test_correction_fixes_the_drift_once(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine, check: Check
) -> None:
    _corrupt_balance(ledger_engine, funded, -40)
    (finding,) = ledger.reconcile()

    entry = ledger.correct(finding, "reconcile:fix-1")

    assert (entry.kind, entry.amount, entry.balance_after) == ("adjustment", -40, 60)
    assert entry.reference == Reference("reconciliation_finding", str(finding.id))
    assert ledger.reconcile() == []
    assert check(funded) == (60, 0)

    assert ledger.correct(finding, "reconcile:fix-1") == entry
    assert ledger.reconcile() == []
    assert check(funded) == (60, 0)
    assert [e.kind for e in ledger.history(funded).entries] == ["adjustment", "grant"]


def test_correcting_again_under_another_key_is_refused(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine, check: Check
) -> None:
    _corrupt_balance(ledger_engine, funded, 7)
    (finding,) = ledger.reconcile()
    ledger.correct(finding, "reconcile:fix-1")

    with pytest.raises(DriftChanged) as raised:
        ledger.correct(finding, "reconcile:fix-2")

    assert raised.value.details == {"findingId": finding.id, "recorded": 7, "current": 0}
    assert check(funded) == (107, 0)


def test_correction_then_adjustment_restores_the_entries_figure(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine, check: Check
) -> None:
    _corrupt_balance(ledger_engine, funded, 7)
    (finding,) = ledger.reconcile()

    ledger.correct(finding, "reconcile:fix-1")
    ledger.adjust(funded, -finding.difference, "take back unexplained credits", "claw:1")

    assert ledger.reconcile() == []
    assert check(funded) == (100, 0)


def test_correction_key_reused_for_another_finding_is_a_conflict(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine
) -> None:
    _corrupt_balance(ledger_engine, funded, 7)
    (first,) = ledger.reconcile()
    ledger.correct(first, "reconcile:fix")
    _corrupt_balance(ledger_engine, funded, 3)
    (second,) = ledger.reconcile()

    with pytest.raises(IdempotencyKeyReused):
        ledger.correct(second, "reconcile:fix")


def test_held_changed_by_direct_sql_is_found_and_not_corrected_by_entries(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine
) -> None:
    ledger.hold(funded, 10, JOB, "hold:1", timedelta(minutes=1))
    _execute(ledger_engine, f"UPDATE credit_accounts SET held = 4 WHERE user_id = '{funded}'")

    (finding,) = ledger.reconcile()

    assert (finding.kind, finding.expected, finding.actual, finding.difference) == (
        "held_mismatch",
        10,
        4,
        -6,
    )
    with pytest.raises(UncorrectableFinding):
        ledger.correct(finding, "reconcile:held")


def test_open_hold_past_its_expiry_is_found_until_swept(
    ledger: Ledger, funded: str, clock: ManualClock
) -> None:
    hold = ledger.hold(funded, 10, JOB, "hold:1", timedelta(minutes=1))
    clock.advance(seconds=90)

    assert ledger.reconcile(expiry_grace=timedelta(minutes=1)) == []
    (finding,) = ledger.reconcile()
    assert (finding.kind, finding.actual, finding.difference) == ("expired_hold", 10, 10)
    assert hold.id in finding.detail

    ledger.expire_holds()
    assert ledger.reconcile() == []


def test_payment_credited_twice_is_found_where_the_database_lost_its_index(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine
) -> None:
    # The unique index makes this impossible; a database restored without it is not.
    _execute(ledger_engine, f"DROP INDEX {PURCHASE_REFERENCE_INDEX}")
    payment = Reference("payment", "INV-1")
    ledger.grant(funded, 50, "package", "duitku:INV-1", kind="purchase", reference=payment)
    _execute(  # the second one written behind the ledger's back, balance included
        ledger_engine,
        "INSERT INTO credit_entries (user_id, amount, kind, balance_after, reference_type, "
        f"reference_id, reason, idempotency_key, created_at) VALUES ('{funded}', 50, "
        "'purchase', 200, 'payment', 'INV-1', 'package', 'duitku:INV-1:again', "
        "CURRENT_TIMESTAMP)",
    )
    _corrupt_balance(ledger_engine, funded, 50)

    (finding,) = ledger.reconcile()

    assert (finding.kind, finding.expected, finding.actual) == ("duplicate_purchase", 1, 2)
    assert "INV-1" in finding.detail


def test_each_run_stores_its_findings_under_its_own_id(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine
) -> None:
    _corrupt_balance(ledger_engine, funded, 1)

    (first,) = ledger.reconcile()
    (second,) = ledger.reconcile()

    assert first.run_id != second.run_id
    assert first.id != second.id


# -- checks contributed by plugins -------------------------------------------------------


def test_contributed_checks_are_stored_under_their_name_and_their_writes_undone(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine
) -> None:
    def orders(connection: sa.Connection) -> list[Discrepancy]:
        connection.execute(sa.update(credit_accounts).values(balance=0))  # undone
        return [Discrepancy(funded, "paid_without_purchase", 1, 0, "order INV-2 " * 200)]

    def malformed(connection: sa.Connection) -> list[Any]:
        return [Discrepancy(funded, "Not Snake", 1, 0, "x")]

    def wrong_type(connection: sa.Connection) -> list[Any]:
        return [("not", "a", "discrepancy")]

    findings = ledger.reconcile(
        checks={"shop.orders": orders, "shop.malformed": malformed, "shop.wrong": wrong_type}
    )

    by_source = {finding.source: finding for finding in findings}
    assert set(by_source) == {"shop.orders", "shop.malformed", "shop.wrong"}
    orders_finding = by_source["shop.orders"]
    assert (orders_finding.kind, orders_finding.difference) == ("paid_without_purchase", -1)
    assert len(orders_finding.detail) == 1000
    assert by_source["shop.malformed"].kind == "check_failed"
    assert "is not snake_case" in by_source["shop.malformed"].detail
    assert by_source["shop.wrong"].user_id == ""
    assert ledger.balance(funded).balance == 100  # the check's update was rolled back
    with pytest.raises(UncorrectableFinding):
        ledger.correct(orders_finding, "fix:orders")
    assert ledger.get_finding(orders_finding.id) == orders_finding


def test_purchase_entries_lists_the_purchases_of_one_reference_type(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine
) -> None:
    from lumiku import purchase_entries

    ledger.grant(funded, 30, "pack", "p:1", kind="purchase", reference=Reference("shop", "o1"))
    ledger.grant(funded, 40, "pack", "p:2", kind="purchase", reference=Reference("other", "o1"))
    ledger.grant(funded, 5, "gift", "g:1", reference=Reference("shop", "o2"))

    purchases = purchase_entries("shop")
    with ledger_engine.connect() as connection:
        rows = connection.execute(sa.select(purchases)).all()

    assert [(r.user_id, r.reference_id, r.amount, r.idempotency_key) for r in rows] == [
        (funded, "o1", 30, "p:1")
    ]
