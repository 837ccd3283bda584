"""Holds: reserve, then capture (fully or partly) or release; the sweeper expires them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from lumiku.errors import Conflict, InsufficientCredits
from lumiku.ledger import (
    Balance,
    CaptureExceedsHold,
    HoldAlreadyResolved,
    HoldNotFound,
    IdempotencyKeyReused,
    InvalidLedgerRequest,
    Ledger,
    Reference,
)
from lumiku.testing import ManualClock

Check = Callable[[str], tuple[int, int]]
JOB = Reference("generation", "g1")
TEN_MINUTES = timedelta(minutes=10)


def test_hold_reserves_available_credits(
    ledger: Ledger, funded: str, clock: ManualClock, check: Check, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES, plugin="pose_generator")

    assert (hold.status, hold.amount, hold.captured) == ("held", 30, 0)
    assert hold.is_open
    assert hold.expires_at == clock.now + TEN_MINUTES
    assert hold.reference == JOB
    assert hold.plugin == "pose_generator"
    assert ledger.get_hold(hold.id) == hold
    assert ledger.balance(funded) == Balance(100, 30)
    assert ledger.balance(funded).available == 70
    assert check(funded) == (100, 30)


def test_held_credits_cannot_be_spent(
    ledger: Ledger, funded: str, key: Callable[[str], str]
) -> None:
    ledger.hold(funded, 80, JOB, key("hold:1"), TEN_MINUTES)

    with pytest.raises(InsufficientCredits) as raised:
        ledger.spend(funded, 21, "upload", key("spend:1"))
    assert raised.value.available == 20

    with pytest.raises(InsufficientCredits):
        ledger.hold(funded, 21, JOB, key("hold:2"), TEN_MINUTES)


def test_hold_retry_returns_the_hold_as_it_is_now(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    first = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)
    assert ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES) == first

    ledger.capture(first.id)
    again = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)

    assert (again.id, again.status) == (first.id, "captured")
    assert check(funded) == (70, 0)


def test_hold_retry_is_recognised_when_the_credits_are_gone(
    ledger: Ledger, funded: str, key: Callable[[str], str]
) -> None:
    first = ledger.hold(funded, 100, JOB, key("hold:1"), TEN_MINUTES)

    assert ledger.hold(funded, 100, JOB, key("hold:1"), TEN_MINUTES) == first


@pytest.mark.parametrize(
    ("amount", "reference", "expires_in"),
    [
        (31, JOB, TEN_MINUTES),
        (30, Reference("generation", "g2"), TEN_MINUTES),
        (30, JOB, timedelta(minutes=11)),
    ],
)
def test_hold_key_reused_with_other_parameters_is_a_conflict(
    ledger: Ledger,
    funded: str,
    amount: int,
    reference: Reference,
    expires_in: timedelta,
    key: Callable[[str], str],
) -> None:
    ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)

    with pytest.raises(IdempotencyKeyReused):
        ledger.hold(funded, amount, reference, key("hold:1"), expires_in)


def test_capture_charges_the_whole_hold(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES, plugin="avatar_creator")

    capture = ledger.capture(hold.id)

    assert (capture.hold.status, capture.hold.captured) == ("captured", 30)
    assert capture.hold.resolved_at is not None
    assert capture.entry is not None
    assert (capture.entry.kind, capture.entry.amount, capture.entry.balance_after) == (
        "capture",
        -30,
        70,
    )
    assert capture.entry.reference == JOB
    assert capture.entry.plugin == "avatar_creator"
    assert check(funded) == (70, 0)


def test_partial_capture_releases_the_rest(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 90, JOB, key("hold:1"), TEN_MINUTES)

    capture = ledger.capture(hold.id, 60)

    assert (capture.hold.captured, capture.hold.amount) == (60, 90)
    assert capture.entry is not None
    assert capture.entry.amount == -60
    assert check(funded) == (40, 0)


def test_capture_of_nothing_resolves_without_an_entry(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)

    capture = ledger.capture(hold.id, 0)

    assert (capture.hold.status, capture.hold.captured, capture.entry) == ("captured", 0, None)
    assert check(funded) == (100, 0)
    assert ledger.capture(hold.id, 0) == capture


def test_capture_retry_returns_the_recorded_capture(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)
    first = ledger.capture(hold.id, 20)

    assert ledger.capture(hold.id, 20) == first
    assert check(funded) == (80, 0)
    assert [entry.kind for entry in ledger.history(funded).entries] == ["capture", "grant"]


@pytest.mark.parametrize("amount", [10, None])
def test_capture_retry_with_another_amount_is_a_conflict(
    ledger: Ledger, funded: str, check: Check, amount: int | None, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)
    ledger.capture(hold.id, 20)

    with pytest.raises(HoldAlreadyResolved) as raised:
        ledger.capture(hold.id, amount)

    assert (raised.value.status, raised.value.captured) == ("captured", 20)
    assert check(funded) == (80, 0)


def test_capture_more_than_held_is_refused(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)

    with pytest.raises(CaptureExceedsHold):
        ledger.capture(hold.id, 31)

    assert ledger.get_hold(hold.id).is_open
    assert check(funded) == (100, 30)


def test_release_gives_the_credits_back(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)

    released = ledger.release(hold.id)

    assert (released.status, released.captured) == ("released", 0)
    assert ledger.release(hold.id) == released
    assert check(funded) == (100, 0)
    assert len(ledger.history(funded).entries) == 1


def test_released_hold_cannot_be_captured(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)
    ledger.release(hold.id)

    with pytest.raises(HoldAlreadyResolved) as raised:
        ledger.capture(hold.id)

    assert isinstance(raised.value, Conflict)
    assert raised.value.status == "released"
    assert check(funded) == (100, 0)


def test_captured_hold_cannot_be_released(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    hold = ledger.hold(funded, 30, JOB, key("hold:1"), TEN_MINUTES)
    ledger.capture(hold.id)

    with pytest.raises(HoldAlreadyResolved) as raised:
        ledger.release(hold.id)

    assert raised.value.status == "captured"
    assert check(funded) == (70, 0)


def test_unknown_hold_is_not_found(ledger: Ledger) -> None:
    for operation in (ledger.capture, ledger.release, ledger.get_hold):
        with pytest.raises(HoldNotFound):
            operation("4c1d2b0e-0000-0000-0000-000000000000")


@pytest.mark.parametrize("expires_in", [timedelta(0), timedelta(seconds=-1), 60])
def test_hold_needs_a_positive_duration(
    ledger: Ledger, funded: str, expires_in: object, key: Callable[[str], str]
) -> None:
    with pytest.raises(InvalidLedgerRequest) as raised:
        ledger.hold(funded, 1, JOB, key("hold:1"), expires_in)  # type: ignore[arg-type]

    assert raised.value.field == "expires_in"


def test_hold_needs_a_reference(ledger: Ledger, funded: str, key: Callable[[str], str]) -> None:
    with pytest.raises(InvalidLedgerRequest) as raised:
        ledger.hold(funded, 1, None, key("hold:1"), TEN_MINUTES)  # type: ignore[arg-type]

    assert raised.value.field == "reference"
