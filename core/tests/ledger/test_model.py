"""Random sequences of ledger operations against a small in-memory reference model.

Hypothesis drives grants, spends, adjustments, holds, captures, releases, the sweeper,
the clock, retries and key reuse on one account per run, and after every step checks the
balance, the held credits, the entry count and the invariants (balance == sum of entries,
held == sum of open holds) against the model.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from lumiku.errors import InsufficientCredits
from lumiku.ledger import (
    Balance,
    Capture,
    CaptureExceedsHold,
    Entry,
    Hold,
    HoldAlreadyResolved,
    IdempotencyKeyReused,
    Ledger,
    Reference,
)
from lumiku.ledger.tables import credit_entries
from lumiku.testing import ManualClock

from .conftest import START, audit, insert_user

JOB = Reference("generation", "model")


@attrs.define
class ModelHold:
    """What the model expects of one hold."""

    amount: int
    expires_at: datetime
    status: str = "held"
    captured: int = 0
    capture: Capture | None = None


@pytest.fixture
def ledger_engine(fresh_engine: sa.Engine) -> sa.Engine:
    """Give the model a database of its own: the sweeper looks at every account."""
    return fresh_engine


class LedgerMachine(RuleBasedStateMachine):
    """One account driven by random operations, checked against a model after each step."""

    engine: ClassVar[sa.Engine]

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.ledger = Ledger(self.engine, self.clock)
        self.user = insert_user(self.engine)
        self.prefix = uuid.uuid4().hex[:12]
        self.counter = 0
        self.balance = 0
        self.entries = 0
        self.holds: dict[str, ModelHold] = {}
        self.done: list[tuple[Callable[[], Any], Entry | Hold]] = []

    def key(self) -> str:
        self.counter += 1
        return f"{self.prefix}:{self.counter}"

    @property
    def held(self) -> int:
        return sum(hold.amount for hold in self.holds.values() if hold.status == "held")

    @property
    def available(self) -> int:
        return self.balance - self.held

    def teardown(self) -> None:
        # Open holds would be swept by the next run's clock; resolve them now.
        for hold_id, hold in self.holds.items():
            if hold.status == "held":
                self.ledger.release(hold_id)

    @rule(amount=st.integers(1, 100), kind=st.sampled_from(["grant", "welcome", "purchase"]))
    def grant(self, amount: int, kind: Any) -> None:
        key = self.key()
        reference = Reference("payment", key) if kind == "purchase" else None
        call = partial(
            self.ledger.grant, self.user, amount, "credits", key, kind=kind, reference=reference
        )
        entry = call()
        self.balance += amount
        self.entries += 1
        assert (entry.amount, entry.balance_after) == (amount, self.balance)
        self.done.append((call, entry))

    @rule(amount=st.integers(1, 120))
    def spend(self, amount: int) -> None:
        call = partial(self.ledger.spend, self.user, amount, "upload", self.key())
        self._debit(call, amount)

    @rule(amount=st.integers(-60, 60).filter(bool))
    def adjust(self, amount: int) -> None:
        call = partial(self.ledger.adjust, self.user, amount, "support", self.key())
        if amount > 0:
            entry = call()
            self.balance += amount
            self.entries += 1
            self.done.append((call, entry))
            return
        self._debit(call, -amount)

    def _debit(self, call: Callable[[], Entry], amount: int) -> None:
        if amount > self.available:
            with pytest.raises(InsufficientCredits) as refused:
                call()
            assert (refused.value.required, refused.value.available) == (amount, self.available)
            return
        entry = call()
        self.balance -= amount
        self.entries += 1
        assert (entry.amount, entry.balance_after) == (-amount, self.balance)
        self.done.append((call, entry))

    @rule(amount=st.integers(1, 80), seconds=st.integers(1, 120))
    def hold(self, amount: int, seconds: int) -> None:
        expires_in = timedelta(seconds=seconds)
        call = partial(self.ledger.hold, self.user, amount, JOB, self.key(), expires_in)
        if amount > self.available:
            with pytest.raises(InsufficientCredits):
                call()
            return
        hold = call()
        self.holds[hold.id] = ModelHold(amount, self.clock.now + expires_in)
        self.done.append((call, hold))

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def capture(self, data: st.DataObject) -> None:
        hold_id = data.draw(st.sampled_from(list(self.holds)))
        model = self.holds[hold_id]
        amount = data.draw(st.none() | st.integers(0, model.amount + 5))
        requested = model.amount if amount is None else amount
        if model.status == "held" and requested > model.amount:
            with pytest.raises(CaptureExceedsHold):
                self.ledger.capture(hold_id, amount)
        elif model.status == "held":
            capture = self.ledger.capture(hold_id, amount)
            model.status, model.captured, model.capture = "captured", requested, capture
            self.balance -= requested
            self.entries += requested > 0
            assert capture.hold.captured == requested
            assert (capture.entry is None) == (requested == 0)
        elif model.status == "captured" and requested == model.captured:
            assert self.ledger.capture(hold_id, amount) == model.capture
        else:
            with pytest.raises(HoldAlreadyResolved) as refused:
                self.ledger.capture(hold_id, amount)
            assert refused.value.status == model.status

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        hold_id = data.draw(st.sampled_from(list(self.holds)))
        model = self.holds[hold_id]
        if model.status == "captured":
            with pytest.raises(HoldAlreadyResolved):
                self.ledger.release(hold_id)
            return
        if model.status == "held":
            model.status = "released"
        assert self.ledger.release(hold_id).status == model.status

    @rule(seconds=st.integers(0, 90))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds=seconds)

    @rule()
    def sweep(self) -> None:
        due = [
            hold
            for hold in self.holds.values()
            if hold.status == "held" and hold.expires_at <= self.clock.now
        ]
        assert self.ledger.expire_holds() == len(due)
        for hold in due:
            hold.status = "expired"

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        call, first = data.draw(st.sampled_from(self.done))
        again = call()
        if isinstance(first, Hold):
            assert again.id == first.id
            assert again.status == self.holds[first.id].status
        else:
            assert again == first

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def reuse_key(self, data: st.DataObject) -> None:
        _, first = data.draw(st.sampled_from(self.done))
        key, amount = first.idempotency_key, abs(first.amount) + 1
        other: Callable[[], object]
        if isinstance(first, Hold):
            other = partial(self.ledger.hold, self.user, amount, JOB, key, timedelta(1))
        else:
            other = partial(self.ledger.spend, self.user, amount, "other", key)
        with pytest.raises(IdempotencyKeyReused):
            other()

    @invariant()
    def matches_the_model(self) -> None:
        assert self.ledger.balance(self.user) == Balance(self.balance, self.held)
        assert audit(self.engine, self.user) == (self.balance, self.held)
        with self.engine.connect() as connection:
            count = connection.execute(
                sa.select(sa.func.count()).where(credit_entries.c.user_id == self.user)
            ).scalar_one()
        assert count == self.entries


def test_ledger_matches_the_reference_model(ledger_engine: sa.Engine) -> None:
    machine = type("Machine", (LedgerMachine,), {"engine": ledger_engine})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
