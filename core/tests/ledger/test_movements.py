"""Spends, grants and adjustments: one entry each, exactly once per key."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from lumiku.errors import Conflict, InsufficientCredits, NotFound, ValidationFailed
from lumiku.ledger import (
    Balance,
    IdempotencyKeyReused,
    InvalidLedgerRequest,
    Ledger,
    Reference,
    UnknownAccount,
)

Check = Callable[[str], tuple[int, int]]


def test_grant_creates_the_account_and_records_an_entry(
    ledger: Ledger, user: str, check: Check, key: Callable[[str], str]
) -> None:
    assert ledger.balance(user) == Balance(0, 0)

    entry = ledger.grant(user, 100, "welcome credits", key("welcome:1"), kind="welcome")

    assert (entry.kind, entry.amount, entry.balance_after) == ("welcome", 100, 100)
    assert entry.user_id == user
    assert entry.created_at.tzinfo is not None
    assert ledger.balance(user) == Balance(100, 0)
    assert ledger.balance(user).available == 100
    assert check(user) == (100, 0)


def test_grant_adds_to_an_existing_account(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    entry = ledger.grant(
        funded,
        50,
        "bought 50",
        key("order:9"),
        kind="purchase",
        reference=Reference("payment", "9"),
    )

    assert (entry.kind, entry.balance_after) == ("purchase", 150)
    assert entry.reference == Reference("payment", "9")
    assert check(funded) == (150, 0)


def test_grant_to_an_unknown_user_is_not_found(ledger: Ledger, key: Callable[[str], str]) -> None:
    with pytest.raises(UnknownAccount) as raised:
        ledger.grant("no-such-user", 10, "gift", key("gift:1"))

    assert isinstance(raised.value, NotFound)


def test_grant_kind_must_be_a_credit(ledger: Ledger, user: str, key: Callable[[str], str]) -> None:
    with pytest.raises(InvalidLedgerRequest, match="kind"):
        ledger.grant(user, 10, "gift", key("gift:1"), kind="spend")  # type: ignore[arg-type]


def test_grant_retry_returns_the_first_entry(
    ledger: Ledger, user: str, check: Check, key: Callable[[str], str]
) -> None:
    first = ledger.grant(user, 100, "welcome credits", key("welcome:x"), kind="welcome")
    again = ledger.grant(user, 100, "welcome credits", key("welcome:x"), kind="welcome")

    assert again == first
    assert check(user) == (100, 0)
    assert len(ledger.history(user).entries) == 1


def test_spend_takes_credits_and_records_the_entry(
    ledger: Ledger, funded: str, check: Check
) -> None:
    entry = ledger.spend(
        funded,
        2,
        "avatar upload",
        "upload:1",
        plugin="avatar_creator",
        reference=Reference("avatar", "a1"),
    )

    assert (entry.kind, entry.amount, entry.balance_after) == ("spend", -2, 98)
    assert entry.plugin == "avatar_creator"
    assert entry.reference == Reference("avatar", "a1")
    assert ledger.history(funded).entries[0] == entry
    assert check(funded) == (98, 0)


def test_spend_of_everything_available_succeeds(
    ledger: Ledger, funded: str, key: Callable[[str], str]
) -> None:
    assert ledger.spend(funded, 100, "all of it", key("all")).balance_after == 0


def test_spend_over_the_balance_is_refused_without_writing(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    with pytest.raises(InsufficientCredits) as raised:
        ledger.spend(funded, 101, "too much", key("big"))

    assert (raised.value.required, raised.value.available) == (101, 100)
    assert raised.value.details == {"required": 101, "available": 100}
    assert check(funded) == (100, 0)
    assert len(ledger.history(funded).entries) == 1


def test_spend_without_an_account_is_refused(
    ledger: Ledger, user: str, key: Callable[[str], str]
) -> None:
    with pytest.raises(InsufficientCredits) as raised:
        ledger.spend(user, 1, "anything", key("k"))

    assert raised.value.available == 0


def test_spend_retry_returns_the_first_entry(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    first = ledger.spend(funded, 30, "generation", key("gen:1"))
    again = ledger.spend(funded, 30, "generation", key("gen:1"))

    assert again == first
    assert check(funded) == (70, 0)


def test_spend_retry_is_recognised_when_the_credits_are_gone(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    first = ledger.spend(funded, 60, "generation", key("gen:1"))
    ledger.spend(funded, 40, "other", key("gen:2"))

    assert ledger.spend(funded, 60, "generation", key("gen:1")) == first
    assert check(funded) == (0, 0)


@pytest.mark.parametrize(
    ("amount", "reason", "plugin", "reference"),
    [
        (31, "generation", None, None),
        (30, "another reason", None, None),
        (30, "generation", "pose_generator", None),
        (30, "generation", None, Reference("generation", "1")),
    ],
)
def test_spend_key_reused_with_other_parameters_is_a_conflict(
    ledger: Ledger,
    funded: str,
    check: Check,
    amount: int,
    reason: str,
    plugin: str | None,
    reference: Reference | None,
    key: Callable[[str], str],
) -> None:
    ledger.spend(funded, 30, "generation", key("gen:1"))

    with pytest.raises(IdempotencyKeyReused) as raised:
        ledger.spend(funded, amount, reason, key("gen:1"), plugin=plugin, reference=reference)

    assert isinstance(raised.value, Conflict)
    assert "gen:1" in raised.value.message
    assert check(funded) == (70, 0)


def test_key_of_another_operation_is_a_conflict(
    ledger: Ledger, funded: str, key: Callable[[str], str]
) -> None:
    ledger.grant(funded, 5, "gift", key("shared-key"))

    with pytest.raises(IdempotencyKeyReused):
        ledger.spend(funded, 5, "gift", key("shared-key"))


def test_key_used_by_another_user_is_a_conflict_that_does_not_describe_it(
    ledger: Ledger, funded: str, new_user: Callable[[], str], key: Callable[[str], str]
) -> None:
    other = new_user()
    ledger.grant(other, 100, "credits", key("fund-other"))
    ledger.spend(other, 7, "secret project", key("their-key"))

    with pytest.raises(IdempotencyKeyReused) as raised:
        ledger.spend(funded, 7, "secret project", key("their-key"))

    assert "secret" not in raised.value.message
    assert ledger.balance(other).balance == 93


def test_adjust_moves_the_balance_both_ways(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    up = ledger.adjust(funded, 15, "goodwill for a failed render", key("adj:1"))
    down = ledger.adjust(funded, -40, "chargeback", key("adj:2"))

    assert (up.kind, up.amount, up.balance_after) == ("adjustment", 15, 115)
    assert (down.kind, down.amount, down.balance_after) == ("adjustment", -40, 75)
    assert ledger.adjust(funded, -40, "chargeback", key("adj:2")) == down
    assert check(funded) == (75, 0)


def test_adjust_creates_the_account_when_positive(
    ledger: Ledger, user: str, check: Check, key: Callable[[str], str]
) -> None:
    ledger.adjust(user, 5, "migration from the old system", key("adj:new"))

    assert check(user) == (5, 0)


def test_negative_adjust_cannot_take_held_credits(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    ledger.hold(funded, 80, Reference("generation", "g"), key("hold:1"), timedelta(minutes=5))

    with pytest.raises(InsufficientCredits) as raised:
        ledger.adjust(funded, -30, "clawback", key("adj:3"))

    assert raised.value.available == 20
    assert check(funded) == (100, 80)


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "3", 10**16])
def test_spend_amount_must_be_a_positive_whole_number(
    ledger: Ledger, funded: str, amount: object
) -> None:
    with pytest.raises(InvalidLedgerRequest) as raised:
        ledger.spend(funded, amount, "bad", "bad-amount")  # type: ignore[arg-type]

    assert isinstance(raised.value, ValidationFailed)
    assert raised.value.details["fields"].keys() == {"amount"}


def test_adjust_of_zero_is_refused(ledger: Ledger, funded: str) -> None:
    with pytest.raises(InvalidLedgerRequest, match="zero"):
        ledger.adjust(funded, 0, "nothing", "adj:0")


@pytest.mark.parametrize("key", ["", "   ", "ledger:capture:x", "k" * 201, None])
def test_key_must_be_usable(ledger: Ledger, funded: str, key: object) -> None:
    with pytest.raises(InvalidLedgerRequest) as raised:
        ledger.spend(funded, 1, "bad", key)  # type: ignore[arg-type]

    assert raised.value.field == "key"


@pytest.mark.parametrize("reason", ["", " ", "r" * 501])
def test_reason_must_be_given(
    ledger: Ledger, funded: str, reason: str, key: Callable[[str], str]
) -> None:
    with pytest.raises(InvalidLedgerRequest) as raised:
        ledger.spend(funded, 1, reason, key("k"))

    assert raised.value.field == "reason"


def test_reference_must_be_a_reference(
    ledger: Ledger, funded: str, key: Callable[[str], str]
) -> None:
    with pytest.raises(InvalidLedgerRequest) as raised:
        ledger.spend(funded, 1, "x", key("k"), reference=("a", "b"))  # type: ignore[arg-type]

    assert raised.value.field == "reference"


def test_find_entry_returns_what_was_recorded_under_a_key_and_writes_nothing(
    ledger: Ledger, funded: str, check: Check, key: Callable[[str], str]
) -> None:
    spent = ledger.spend(funded, 5, "upload", key("spend"), reference=Reference("avatar", "a1"))
    refund = ledger.grant(funded, 5, "refund", key("spend-refund"))

    assert ledger.find_entry(key("spend")) == spent
    assert ledger.find_entry(key("spend-refund")) == refund
    assert ledger.find_entry(key("never-used")) is None
    assert check(funded) == (100, 0)  # reading changed nothing
    assert len(ledger.history(funded, limit=100).entries) == 3


def test_find_entry_does_not_see_hold_keys_and_checks_the_key(
    ledger: Ledger, funded: str, key: Callable[[str], str]
) -> None:
    ledger.hold(funded, 5, Reference("job", "j1"), key("hold"), timedelta(minutes=5))

    assert ledger.find_entry(key("hold")) is None  # holds have their own key space
    with pytest.raises(InvalidLedgerRequest):
        ledger.find_entry("")
