"""Purchases: one entry per payment, enforced by the database; grants in a caller's transaction."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.errors import Conflict
from lumiku.ledger import (
    IdempotencyKeyReused,
    InvalidLedgerRequest,
    Ledger,
    PurchaseAlreadyCredited,
    Reference,
    UnknownAccount,
)
from lumiku.ledger.tables import credit_entries

from .conftest import insert_user, migrated_engine

Check = Callable[[str], tuple[int, int]]


def _payment(key: Callable[[str], str], name: str = "INV-1") -> Reference:
    return Reference("payment", key(name))


def _purchase_entries(engine: sa.Engine, reference: Reference) -> int:
    entries = credit_entries.c
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count()).where(
                    entries.kind == "purchase",
                    entries.reference_type == reference.type,
                    entries.reference_id == reference.id,
                )
            ).scalar_one()
        )


def test_a_purchase_names_its_payment(ledger: Ledger, funded: str) -> None:
    with pytest.raises(InvalidLedgerRequest) as raised:
        ledger.grant(funded, 50, "package", "no-reference", kind="purchase")

    assert raised.value.details["fields"] == {"reference": raised.value.message}
    assert "reference=Reference" in raised.value.message


def test_the_same_purchase_under_the_same_key_is_a_replay(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    payment = _payment(key)
    first = ledger.grant(funded, 50, "package", key("topup"), kind="purchase", reference=payment)

    again = ledger.grant(funded, 50, "package", key("topup"), kind="purchase", reference=payment)

    assert again == first
    assert check(funded) == (150, 0)


def test_a_second_purchase_of_one_payment_is_a_conflict_and_changes_nothing(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str], ledger_engine: sa.Engine
) -> None:
    payment = _payment(key)
    ledger.grant(funded, 50, "package", key("topup"), kind="purchase", reference=payment)

    with pytest.raises(PurchaseAlreadyCredited) as raised:
        ledger.grant(funded, 50, "package", key("topup:again"), kind="purchase", reference=payment)

    assert isinstance(raised.value, Conflict)
    assert raised.value.details == {"referenceType": "payment", "referenceId": payment.id}
    assert check(funded) == (150, 0)
    assert _purchase_entries(ledger_engine, payment) == 1
    assert ledger.find_entry(key("topup:again")) is None


def test_the_same_reference_may_be_granted_as_another_kind(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    payment = _payment(key)
    ledger.grant(funded, 50, "package", key("topup"), kind="purchase", reference=payment)

    ledger.grant(funded, 5, "bonus for the order", key("bonus"), reference=payment)

    assert check(funded) == (155, 0)


def test_the_database_refuses_a_second_purchase_entry_written_behind_the_ledger(
    ledger: Ledger, funded: str, key: Callable[[str], str], ledger_engine: sa.Engine
) -> None:
    payment = _payment(key)
    entry = ledger.grant(funded, 50, "package", key("topup"), kind="purchase", reference=payment)
    row = {
        "user_id": funded,
        "amount": 50,
        "kind": "purchase",
        "balance_after": 200,
        "reference_type": payment.type,
        "reference_id": payment.id,
        "reason": "package",
        "idempotency_key": key("forged"),
        "created_at": datetime.now(UTC),
    }

    with pytest.raises(sa.exc.IntegrityError), ledger_engine.begin() as connection:
        connection.execute(sa.insert(credit_entries).values(row))

    assert _purchase_entries(ledger_engine, payment) == 1
    assert ledger.find_entry(key("topup")) == entry


# -- in the caller's transaction -----------------------------------------------------------


def test_a_grant_in_a_transaction_commits_with_it(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str], ledger_engine: sa.Engine
) -> None:
    payment = _payment(key)
    with ledger_engine.begin() as connection:
        entry = ledger.grant(
            funded,
            40,
            "package",
            key("topup"),
            kind="purchase",
            reference=payment,
            connection=connection,
        )
        assert (entry.amount, entry.balance_after) == (40, 140)

    assert check(funded) == (140, 0)
    assert ledger.find_entry(key("topup")) == entry


def test_a_grant_in_a_transaction_rolls_back_with_it_and_a_retry_credits_once(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str], ledger_engine: sa.Engine
) -> None:
    payment = _payment(key)

    def credit(connection: sa.Connection) -> Any:
        return ledger.grant(
            funded, 40, "package", key("topup"), kind="purchase", reference=payment,
            connection=connection,
        )  # fmt: skip

    def crash_after_the_grant() -> None:
        with ledger_engine.begin() as connection:
            credit(connection)
            raise RuntimeError("crash after the grant, before the commit")

    with pytest.raises(RuntimeError, match="crash"):
        crash_after_the_grant()

    assert check(funded) == (100, 0)
    assert ledger.find_entry(key("topup")) is None
    with ledger_engine.begin() as connection:
        credit(connection)
    with ledger_engine.begin() as connection:
        assert credit(connection).balance_after == 140  # a replay
    assert check(funded) == (140, 0)
    assert _purchase_entries(ledger_engine, payment) == 1


def test_a_refused_grant_leaves_the_transaction_usable(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str], ledger_engine: sa.Engine
) -> None:
    payment = _payment(key)
    ledger.grant(funded, 40, "package", key("topup"), kind="purchase", reference=payment)

    with ledger_engine.begin() as connection:
        with pytest.raises(PurchaseAlreadyCredited):
            ledger.grant(
                funded, 40, "package", key("other"), kind="purchase", reference=payment,
                connection=connection,
            )  # fmt: skip
        with pytest.raises(IdempotencyKeyReused):
            ledger.grant(funded, 41, "package", key("topup"), connection=connection)
        ledger.grant(funded, 3, "goodwill", key("goodwill"), connection=connection)

    assert check(funded) == (143, 0)


def test_a_grant_in_a_transaction_to_an_unknown_user_is_not_found(
    ledger: Ledger, key: Callable[[str], str], ledger_engine: sa.Engine
) -> None:
    with ledger_engine.begin() as connection, pytest.raises(UnknownAccount):
        ledger.grant("no-such-user", 5, "gift", key("gift"), connection=connection)


# -- concurrency -------------------------------------------------------------------------


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[sa.Engine]:
    """Yield an engine on a fresh, migrated PostgreSQL database with room for 20 threads."""
    engine = migrated_engine(postgres_url)
    yield engine
    engine.dispose()


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - the outcome under test
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.postgres
@pytest.mark.parametrize("in_transaction", [False, True], ids=["alone", "in-transaction"])
def test_concurrent_purchases_of_one_payment_under_different_keys_credit_once(
    postgres_engine: sa.Engine, in_transaction: bool
) -> None:
    ledger = Ledger(postgres_engine)
    user_id = insert_user(postgres_engine)
    payment = Reference("payment", f"race-{in_transaction}")

    def purchase(n: int) -> Any:
        def grant(connection: sa.Connection | None = None) -> Any:
            return ledger.grant(
                user_id, 25, "package", f"race:{in_transaction}:{n}", kind="purchase",
                reference=payment, connection=connection,
            )  # fmt: skip

        if not in_transaction:
            return grant()
        with postgres_engine.begin() as connection:
            return grant(connection)

    outcomes = _race([lambda n=n: purchase(n) for n in range(12)])

    kinds = Counter(type(outcome).__name__ for outcome in outcomes)
    assert kinds == {"Entry": 1, "PurchaseAlreadyCredited": 11}, outcomes
    assert ledger.balance(user_id).balance == 25
    assert _purchase_entries(postgres_engine, payment) == 1
