"""Reconciliation (``lumiku credits reconcile`` and the periodic run) checks the payments:
every paid payment has exactly one purchase entry of its credits, none exists without a
paid payment. Consistent data gives nothing; each way of breaking it is named."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lumiku.plugins.reconciliation import contributed_checks
from lumiku_payments_duitku import hooks


def reconcile(shop: Any) -> list[Any]:
    runtime = shop.runtime
    return list(
        runtime.ledger.reconcile(checks=contributed_checks(runtime.registry, runtime.hooks))
    )


def execute(shop: Any, statement: str, **params: Any) -> None:
    with shop.runtime.engine.begin() as connection:
        connection.execute(sa.text(statement), params)


def test_the_plugin_contributes_its_check() -> None:
    assert set(hooks.register_reconciliation_checks()) == {"purchases"}


def test_paid_failed_and_pending_payments_reconcile_cleanly(shop: Any) -> None:
    user = shop.sign_up()
    paid, failed, _pending = (shop.buy(user)["merchantOrderId"] for _ in range(3))
    shop.duitku.pay(paid)
    shop.duitku.fail(failed)

    assert reconcile(shop) == []


def test_a_paid_payment_without_its_purchase_entry_is_found(shop: Any) -> None:
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]
    execute(
        shop, "UPDATE duitku_payments SET status = 'paid' WHERE merchant_order_id = :o", o=order
    )

    (finding,) = reconcile(shop)

    assert (finding.source, finding.kind) == ("payments_duitku.purchases", "paid_without_purchase")
    assert (finding.user_id, finding.expected, finding.actual) == (user.user_id, 1_500, 0)
    assert order in finding.detail


def test_a_purchase_entry_without_a_paid_payment_is_found(shop: Any) -> None:
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]
    shop.duitku.pay(order)
    execute(
        shop, "UPDATE duitku_payments SET status = 'failed' WHERE merchant_order_id = :o", o=order
    )
    execute(
        shop, "UPDATE credit_entries SET reference_id = 'LMK-gone' WHERE reference_id = :o", o=order
    )

    kinds = sorted(
        (finding.kind, finding.actual) for finding in reconcile(shop) if finding.source != "ledger"
    )

    assert kinds == [("purchase_without_payment", 1_500)]


def test_a_purchase_of_the_wrong_size_is_found(shop: Any) -> None:
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]
    shop.duitku.pay(order)
    execute(shop, "UPDATE duitku_payments SET credits = 99 WHERE merchant_order_id = :o", o=order)

    (finding,) = reconcile(shop)

    assert (finding.kind, finding.expected, finding.actual) == ("purchase_differs", 99, 1_500)


def test_a_payment_in_review_is_reported_until_settled(shop: Any) -> None:
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]
    shop.duitku.pay(order, callback=False)
    shop.duitku.order(order).amount = 5_000
    shop.duitku.send_callback(order, fields={})  # signed over 5000: not the order's amount
    assert shop.payment(order).status == "pending"

    execute(
        shop,
        "UPDATE duitku_payments SET next_check_at = created_at WHERE merchant_order_id = :o",
        o=order,
    )
    shop.services.poller.run()  # transactionStatus says paid with 5000: review

    (finding,) = reconcile(shop)
    assert (finding.kind, finding.user_id) == ("payment_in_review", user.user_id)
    assert user.balance()["balance"] == 100
