"""The sweeper: open holds past their expiry are released as ``expired``, each once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.ledger import HoldAlreadyResolved, HoldNotFound, Ledger, Reference
from lumiku.ledger.tables import credit_accounts, credit_holds
from lumiku.metrics import Metrics
from lumiku.testing import ManualClock

from .conftest import START

Check = Callable[[str], tuple[int, int]]
JOB = Reference("generation", "g1")


@pytest.fixture
def ledger_engine(fresh_engine: sa.Engine) -> sa.Engine:
    """Give every test a database of its own: the sweeper looks at every account."""
    return fresh_engine


def test_sweeper_expires_only_holds_past_their_expiry(
    ledger: Ledger, funded: str, clock: ManualClock, check: Check
) -> None:
    early = ledger.hold(funded, 10, JOB, "hold:1", timedelta(minutes=1))
    late = ledger.hold(funded, 20, JOB, "hold:2", timedelta(minutes=5))

    assert ledger.expire_holds() == 0
    clock.advance(seconds=60)
    assert ledger.expire_holds() == 1
    assert ledger.expire_holds() == 0

    expired = ledger.get_hold(early.id)
    assert (expired.status, expired.resolved_at) == ("expired", clock.now)
    assert ledger.get_hold(late.id).is_open
    assert check(funded) == (100, 20)
    assert ledger.expire_holds(now=clock.now + timedelta(minutes=4)) == 1
    assert check(funded) == (100, 0)


def test_sweeper_releases_holds_of_many_accounts_in_batches(
    ledger: Ledger,
    ledger_engine: sa.Engine,
    new_user: Callable[[], str],
    clock: ManualClock,
    check: Check,
) -> None:
    owners = [new_user() for _ in range(3)]
    holds: list[dict[str, Any]] = [
        {
            "id": str(uuid.uuid4()),
            "user_id": owners[index % 3],
            "amount": 1 + index % 5,
            "status": "held",
            "expires_at": START + timedelta(seconds=index % 7),
            "reference_type": "generation",
            "reference_id": str(index),
            "idempotency_key": f"bulk:{index}",
            "created_at": START,
        }
        for index in range(1_203)
    ]
    for owner in owners:
        ledger.grant(owner, 10_000, "credits", f"fund:{owner}")
    with ledger_engine.begin() as connection:
        connection.execute(sa.insert(credit_holds), holds)
        for owner in owners:
            held = sum(hold["amount"] for hold in holds if hold["user_id"] == owner)
            connection.execute(
                sa.update(credit_accounts)
                .where(credit_accounts.c.user_id == owner)
                .values(held=held)
            )
    clock.advance(seconds=7)

    assert ledger.expire_holds() == 1_203
    assert ledger.expire_holds() == 0
    assert [check(owner) for owner in owners] == [(10_000, 0)] * 3


def test_expired_hold_cannot_be_captured_and_release_is_a_no_op(
    ledger: Ledger, funded: str, clock: ManualClock, check: Check
) -> None:
    hold = ledger.hold(funded, 30, JOB, "hold:1", timedelta(seconds=30))
    clock.advance(seconds=30)
    ledger.expire_holds()

    with pytest.raises(HoldAlreadyResolved) as raised:
        ledger.capture(hold.id)
    assert raised.value.status == "expired"

    assert ledger.release(hold.id).status == "expired"
    assert check(funded) == (100, 0)


def test_overdue_hold_can_be_captured_until_the_sweeper_runs(
    ledger: Ledger, funded: str, clock: ManualClock, check: Check
) -> None:
    hold = ledger.hold(funded, 30, JOB, "hold:1", timedelta(seconds=30))
    clock.advance(seconds=3600)

    assert ledger.capture(hold.id).hold.status == "captured"
    assert ledger.expire_holds() == 0
    assert check(funded) == (70, 0)


def test_sweeper_leaves_resolved_holds_alone(
    ledger: Ledger, funded: str, clock: ManualClock, check: Check
) -> None:
    captured = ledger.hold(funded, 10, JOB, "hold:1", timedelta(seconds=1))
    released = ledger.hold(funded, 20, JOB, "hold:2", timedelta(seconds=1))
    ledger.capture(captured.id, 5)
    ledger.release(released.id)
    clock.advance(seconds=5)

    assert ledger.expire_holds() == 0
    assert ledger.get_hold(captured.id).status == "captured"
    assert ledger.get_hold(released.id).status == "released"
    assert check(funded) == (95, 0)


def test_the_expire_counter_counts_expired_holds_not_sweeper_runs(
    ledger_engine: sa.Engine, clock: ManualClock, funded: str
) -> None:
    metrics = Metrics()
    observed = Ledger(ledger_engine, clock, observer=metrics.record_credit_operation)
    for number in range(3):
        observed.hold(funded, 10, JOB, f"hold:{number}", timedelta(minutes=1))

    assert observed.expire_holds() == 0  # a run that expires nothing counts nothing
    clock.advance(minutes=2)
    assert observed.expire_holds() == 3
    assert observed.expire_holds() == 0

    expired = metrics.registry.get_sample_value(
        "lumiku_credit_transactions_total", {"operation": "expire", "outcome": "ok"}
    )
    holds = metrics.registry.get_sample_value(
        "lumiku_credit_transactions_total", {"operation": "hold", "outcome": "ok"}
    )
    assert (expired, holds) == (3, 3)


def test_hold_releases_and_their_failures_are_counted(
    ledger_engine: sa.Engine, clock: ManualClock, funded: str
) -> None:
    metrics = Metrics()
    observed = Ledger(ledger_engine, clock, observer=metrics.record_credit_operation)
    hold = observed.hold(funded, 10, JOB, "hold:release", timedelta(minutes=1))

    observed.release(hold.id)
    with pytest.raises(HoldNotFound):
        observed.release("00000000-0000-0000-0000-000000000000")

    def count(outcome: str) -> float | None:
        return metrics.registry.get_sample_value(
            "lumiku_credit_transactions_total", {"operation": "release", "outcome": outcome}
        )

    assert (count("ok"), count("rejected")) == (1, 1)
