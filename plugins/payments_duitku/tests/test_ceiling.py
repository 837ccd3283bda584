"""A paid payment whose credits would take the account past the balance ceiling is put in
``review`` (nothing credited, a ❌ line, a ``balance_ceiling`` event), answered to Duitku
as an amount mismatch is (200 ``review``, no user id nor balance in the body), reported
by reconciliation; the poller handles it per payment and goes on with its batch."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.credit_limits import BALANCE_CEILING, MAX_AMOUNT
from lumiku.plugins.reconciliation import contributed_checks

CALLBACK = "/api/payments/callback"


def fill_to(shop: Any, user: Any, room: int) -> None:
    """Grant ``user`` credits until only ``room`` more fit under the ceiling."""
    ledger = shop.runtime.ledger
    balance = user.balance()["balance"]
    index = 0
    while balance < BALANCE_CEILING - room:
        amount = min(MAX_AMOUNT, BALANCE_CEILING - room - balance)
        ledger.grant(user.user_id, amount, "fill", f"fill:{user.user_id}:{index}")
        balance += amount
        index += 1


def reconcile(shop: Any) -> list[Any]:
    runtime = shop.runtime
    return list(
        runtime.ledger.reconcile(checks=contributed_checks(runtime.registry, runtime.hooks))
    )


def due_now(shop: Any, *orders: str) -> None:
    with shop.runtime.engine.begin() as connection:
        for order in orders:
            connection.execute(
                sa.text(
                    "UPDATE duitku_payments SET next_check_at = created_at "
                    "WHERE merchant_order_id = :o"
                ),
                {"o": order},
            )


@pytest.mark.parametrize("room", [0, 1])
def test_a_callback_past_the_ceiling_puts_the_payment_in_review(
    shop: Any, caplog: pytest.LogCaptureFixture, room: int
) -> None:
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]
    shop.duitku.pay(order, callback=False)
    fill_to(shop, user, room)

    with caplog.at_level(logging.ERROR):
        answered = shop.duitku.send_callback(order)

    assert (answered.status_code, answered.json()["status"]) == (200, "review")
    assert user.user_id not in answered.text
    assert "balance" not in answered.text.lower()
    assert str(BALANCE_CEILING) not in answered.text
    assert shop.payment(order).status == "review"
    assert shop.purchase_entries(order) == 0
    assert user.balance()["balance"] == BALANCE_CEILING - room
    outcomes = [(e["source"], e["outcome"]) for e in shop.services.store.events(order)]
    assert ("settlement", "balance_ceiling") in outcomes
    assert any("❌" in r.message and order in r.getMessage() for r in caplog.records)
    (finding,) = reconcile(shop)
    assert (finding.kind, finding.user_id) == ("payment_in_review", user.user_id)
    assert order in finding.detail
    assert "ceiling" in finding.detail

    again = shop.duitku.send_callback(order)  # Duitku resends: a duplicate, nothing changes
    assert (again.status_code, again.json()["status"]) == (200, "review")
    assert shop.purchase_entries(order) == 0


def test_the_poller_reviews_a_payment_past_the_ceiling_and_goes_on(shop: Any) -> None:
    full, other = shop.sign_up("full"), shop.sign_up("other")
    stuck = shop.buy(full)["merchantOrderId"]
    fine = shop.buy(other)["merchantOrderId"]
    for order in (stuck, fine):
        shop.duitku.pay(order, callback=False)
    fill_to(shop, full, 0)
    due_now(shop, stuck, fine)

    report = shop.services.poller.run()

    assert (report.checked, report.paid, report.closed, report.errors) == (2, 1, 1, 0)
    assert shop.payment(stuck).status == "review"
    assert shop.payment(fine).status == "paid"
    assert shop.purchase_entries(fine) == 1
    assert [f.kind for f in reconcile(shop)] == ["payment_in_review"]


def test_one_payment_that_raises_does_not_strand_the_poll_batch(
    shop: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    user = shop.sign_up()
    orders = [shop.buy(user)["merchantOrderId"] for _ in range(3)]
    for order in orders:
        shop.duitku.pay(order, callback=False)
    due_now(shop, *orders)
    settlement = shop.services.settlement
    apply = settlement.apply

    def broken_for_first(payment: Any, answer: Any) -> Any:
        if payment.merchant_order_id == orders[0]:
            raise RuntimeError("a bug")
        return apply(payment, answer)

    monkeypatch.setattr(settlement, "apply", broken_for_first)
    with caplog.at_level(logging.ERROR):
        report = shop.services.poller.run()

    assert (report.checked, report.paid, report.errors) == (3, 2, 1)
    assert [shop.payment(order).status for order in orders] == ["pending", "paid", "paid"]
    assert any("❌" in r.message and orders[0] in r.getMessage() for r in caplog.records)
