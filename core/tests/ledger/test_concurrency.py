"""Concurrent callers: no overdraft, one entry per key, one outcome per hold."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.errors import InsufficientCredits
from lumiku.ledger import (
    Capture,
    HoldAlreadyResolved,
    IdempotencyKeyReused,
    Ledger,
    Reference,
)
from lumiku.ledger.tables import credit_entries
from lumiku.testing import ManualClock

from .conftest import audit, insert_user, migrated_engine

Check = Callable[[str], tuple[int, int]]
JOB = Reference("generation", "g1")
ROUNDS = 40


@pytest.fixture
def ledger_engine(fresh_engine: sa.Engine) -> sa.Engine:
    """Give every test a database of its own: the sweeper looks at every account."""
    return fresh_engine


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` on threads released together; return each result or exception."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - the outcome under test
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[sa.Engine]:
    """Yield an engine on a fresh, migrated PostgreSQL database with room for 32 threads."""
    engine = migrated_engine(postgres_url)
    yield engine
    engine.dispose()


def test_200_concurrent_spends_of_1_against_100_on_postgresql(
    postgres_engine: sa.Engine,
) -> None:
    ledger = Ledger(postgres_engine)
    user_id = insert_user(postgres_engine)
    ledger.grant(user_id, 100, "credits", "fund")

    def spend(index: int) -> bool:
        try:
            ledger.spend(user_id, 1, "upload", f"spend:{index}")
        except InsufficientCredits:
            return False
        return True

    barrier = threading.Barrier(32)

    def start_together(index: int) -> bool:
        if index < 32:
            barrier.wait()
        return spend(index)

    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(start_together, range(200)))

    assert outcomes.count(True) == 100
    assert audit(postgres_engine, user_id) == (0, 0)
    with postgres_engine.connect() as connection:
        spends = connection.execute(
            sa.select(credit_entries.c.amount, credit_entries.c.balance_after).where(
                credit_entries.c.kind == "spend"
            )
        ).all()
    assert sum(amount for amount, _ in spends) == -100
    assert sorted(balance_after for _, balance_after in spends) == list(range(100))


def test_same_spend_key_replayed_concurrently_writes_one_entry(
    ledger: Ledger, funded: str, check: Check
) -> None:
    results = race(*[lambda: ledger.spend(funded, 5, "generation", "same")] * 16)

    assert len({result.id for result in results}) == 1
    assert check(funded) == (95, 0)
    assert len(ledger.history(funded).entries) == 2


def test_same_key_with_different_parameters_concurrently_has_one_winner(
    ledger: Ledger, funded: str, check: Check
) -> None:
    results = race(
        *[lambda: ledger.spend(funded, 5, "generation", "same")] * 8,
        *[lambda: ledger.spend(funded, 7, "generation", "same")] * 8,
    )

    entries = {result for result in results if not isinstance(result, Exception)}
    errors = [result for result in results if isinstance(result, Exception)]
    assert len(entries) == 1
    assert len(errors) == 8
    assert all(isinstance(error, IdempotencyKeyReused) for error in errors)
    (entry,) = entries
    assert check(funded) == (100 + entry.amount, 0)


def test_same_hold_key_replayed_concurrently_places_one_hold(
    ledger: Ledger, funded: str, check: Check
) -> None:
    results = race(*[lambda: ledger.hold(funded, 60, JOB, "same", timedelta(minutes=5))] * 16)

    assert len({result.id for result in results}) == 1
    assert check(funded) == (100, 60)


def test_same_grant_key_replayed_concurrently_credits_once(
    ledger: Ledger, user: str, check: Check
) -> None:
    results = race(
        *[lambda: ledger.grant(user, 100, "welcome credits", "welcome", kind="welcome")] * 16
    )

    assert len({result.id for result in results}) == 1
    assert check(user) == (100, 0)


def test_capture_racing_the_sweeper_has_exactly_one_winner(
    ledger: Ledger, funded: str, clock: ManualClock, check: Check
) -> None:
    ledger.grant(funded, 10 * ROUNDS, "credits for every round", "more")
    balance = 100 + 10 * ROUNDS
    winners: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        hold = ledger.hold(funded, 10, JOB, f"hold:{round_}", timedelta(seconds=1))
        clock.advance(seconds=1)

        captured, expired = race(partial(ledger.capture, hold.id), ledger.expire_holds)

        final = ledger.get_hold(hold.id)
        if isinstance(captured, Capture):
            assert (expired, final.status, captured.hold.status) == (0, "captured", "captured")
            winners["capture"] += 1
            balance -= 10
        else:
            assert isinstance(captured, HoldAlreadyResolved), captured
            assert (captured.status, expired, final.status) == ("expired", 1, "expired")
            winners["sweeper"] += 1
        assert check(funded) == (balance, 0)
    assert sum(winners.values()) == ROUNDS
    assert ledger.reconcile() == []


def test_capture_racing_release_has_exactly_one_winner(
    ledger: Ledger, funded: str, check: Check
) -> None:
    ledger.grant(funded, 10 * ROUNDS, "credits for every round", "more")
    balance = 100 + 10 * ROUNDS
    for round_ in range(ROUNDS):
        hold = ledger.hold(funded, 10, JOB, f"hold:{round_}", timedelta(minutes=5))

        captured, released = race(
            partial(ledger.capture, hold.id), partial(ledger.release, hold.id)
        )

        final = ledger.get_hold(hold.id)
        if isinstance(captured, Capture):
            assert isinstance(released, HoldAlreadyResolved), released
            assert final.status == "captured"
            balance -= 10
        else:
            assert isinstance(captured, HoldAlreadyResolved), captured
            assert released.status == final.status == "released"
        assert check(funded) == (balance, 0)


def test_concurrent_capture_retries_charge_once(ledger: Ledger, funded: str, check: Check) -> None:
    hold = ledger.hold(funded, 30, JOB, "hold", timedelta(minutes=5))

    results = race(*[lambda: ledger.capture(hold.id, 25)] * 8)

    assert len(set(results)) == 1
    assert check(funded) == (75, 0)
