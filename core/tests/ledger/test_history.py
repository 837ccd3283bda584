"""History: an account's entries newest first, in pages joined by a cursor."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lumiku.ledger import InvalidLedgerRequest, Ledger
from lumiku.pages import InvalidCursor


def test_history_pages_newest_first(ledger: Ledger, funded: str, key: Callable[[str], str]) -> None:
    for index in range(1, 8):
        ledger.spend(funded, index, f"spend {index}", key(f"spend:{index}"))

    first = ledger.history(funded, limit=3)
    second = ledger.history(funded, cursor=first.next_cursor, limit=3)
    third = ledger.history(funded, cursor=second.next_cursor, limit=3)

    amounts = [entry.amount for page in (first, second, third) for entry in page.entries]
    assert amounts == [-7, -6, -5, -4, -3, -2, -1, 100]
    assert third.next_cursor is None
    assert [len(page.entries) for page in (first, second, third)] == [3, 3, 2]


def test_history_page_boundary_holds_while_entries_arrive(
    ledger: Ledger, funded: str, key: Callable[[str], str]
) -> None:
    ledger.spend(funded, 1, key("one"), key("one"))
    ledger.spend(funded, 2, key("two"), key("two"))
    first = ledger.history(funded, limit=1)

    ledger.spend(funded, 3, key("three"), key("three"))
    rest = ledger.history(funded, cursor=first.next_cursor, limit=10)

    assert [entry.amount for entry in first.entries] == [-2]
    assert [entry.amount for entry in rest.entries] == [-1, 100]


def test_history_of_an_exact_page_has_no_next_cursor(ledger: Ledger, funded: str) -> None:
    page = ledger.history(funded, limit=1)

    assert len(page.entries) == 1
    assert page.next_cursor is None


def test_history_is_per_user(ledger: Ledger, funded: str, new_user: Callable[[], str]) -> None:
    assert ledger.history(new_user()).entries == ()
    assert len(ledger.history(funded).entries) == 1


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "", "eyJ2IjoxLCJrIjpbIngiXX0"])
def test_history_rejects_a_forged_cursor(ledger: Ledger, funded: str, cursor: str) -> None:
    with pytest.raises(InvalidCursor) as raised:
        ledger.history(funded, cursor=cursor)

    assert raised.value.details["fields"] == {"cursor": "is not a nextCursor value of this list"}


@pytest.mark.parametrize("limit", [0, 101, True])
def test_history_limit_is_bounded(ledger: Ledger, funded: str, limit: int) -> None:
    with pytest.raises(InvalidLedgerRequest) as raised:
        ledger.history(funded, limit=limit)

    assert raised.value.field == "limit"
