"""The ledger tells its change listener whose credits changed, after the change commits;
the balance announcer turns that into ``credits:balance`` events on ``/credits``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lumiku.errors import InsufficientCredits
from lumiku.ledger import Balance, Ledger, Reference
from lumiku.realtime.credits import BALANCE_EVENT, CREDITS_NAMESPACE, BalanceAnnouncer
from lumiku.testing import ManualClock
from lumiku.testing.realtime import RecordingPublisher

from .conftest import insert_user


def _recording_ledger(engine: sa.Engine, clock: ManualClock) -> tuple[Ledger, list[str]]:
    changed: list[str] = []
    return Ledger(engine, clock, on_change=changed.append), changed


def test_every_movement_names_its_account(
    ledger_engine: sa.Engine, clock: ManualClock, key: Callable[[str], str]
) -> None:
    ledger, changed = _recording_ledger(ledger_engine, clock)
    user = insert_user(ledger_engine)
    ledger.grant(user, 100, "welcome", key("grant"))
    ledger.spend(user, 5, "upload", key("spend"))
    hold = ledger.hold(user, 30, Reference("job", key("job")), key("hold"), timedelta(hours=1))
    ledger.capture(hold.id, 10)
    other = ledger.hold(user, 20, Reference("job", key("job2")), key("hold2"), timedelta(hours=1))
    ledger.release(other.id)
    assert changed == [user] * 6


def test_a_change_in_the_callers_transaction_is_announced_once_committed(
    ledger_engine: sa.Engine, clock: ManualClock, key: Callable[[str], str]
) -> None:
    ledger, changed = _recording_ledger(ledger_engine, clock)
    user = insert_user(ledger_engine)
    with ledger_engine.begin() as connection:
        ledger.grant(user, 50, "package", key("paid"), connection=connection)
        assert changed == []  # not yet committed: a reader would see the old balance
    assert changed == [user]

    rolled_back = insert_user(ledger_engine)
    with ledger_engine.connect() as connection, connection.begin() as transaction:
        ledger.grant(rolled_back, 50, "package", key("undone"), connection=connection)
        transaction.rollback()
    assert changed == [user]  # a rolled-back change is never announced


def test_a_refused_operation_announces_nothing(
    ledger_engine: sa.Engine, clock: ManualClock, key: Callable[[str], str]
) -> None:
    ledger, changed = _recording_ledger(ledger_engine, clock)
    user = insert_user(ledger_engine)
    ledger.grant(user, 3, "welcome", key("grant"))
    with pytest.raises(InsufficientCredits):
        ledger.spend(user, 5, "too much", key("spend"))
    assert changed == [user]


def test_the_announcer_publishes_the_balance_read_after_the_change() -> None:
    publisher = RecordingPublisher()
    figures = {"u1": Balance(120, 30)}
    read = threading.Event()

    def read_balance(user_id: str) -> Balance:
        read.set()
        return figures[user_id]

    announcer = BalanceAnnouncer(read_balance, publisher)
    announcer.changed("u1")
    announcer.close()  # announces what is pending, then stops
    assert read.is_set()
    [event] = publisher.events
    assert (event.user_id, event.event, event.namespace) == ("u1", BALANCE_EVENT, CREDITS_NAMESPACE)
    assert event.data == {"balance": 120, "held": 30, "available": 90}


def test_a_failing_read_is_logged_and_the_next_change_still_announced() -> None:
    publisher = RecordingPublisher()
    calls: list[str] = []

    def read_balance(user_id: str) -> Balance:
        calls.append(user_id)
        if user_id == "broken":
            raise ConnectionError("database away")
        return Balance(7, 0)

    announcer = BalanceAnnouncer(read_balance, publisher)
    announcer.announce("broken")
    announcer.changed("u2")
    announcer.close()
    assert [e.user_id for e in publisher.events] == ["u2"]


def test_the_listener_of_a_callers_transaction_reads_what_was_committed(
    ledger_engine: sa.Engine, clock: ManualClock, key: Callable[[str], str]
) -> None:
    seen: list[int] = []
    ledger: Ledger | None = None

    def read_now(user_id: str) -> None:
        assert ledger is not None
        seen.append(ledger.balance(user_id).balance)  # another connection of the pool

    ledger = Ledger(ledger_engine, clock, on_change=read_now)
    user = insert_user(ledger_engine)
    ledger.grant(user, 10, "welcome", key("welcome"))
    with ledger_engine.begin() as connection:
        ledger.grant(user, 50, "package", key("paid"), connection=connection)
    assert seen == [10, 60]
