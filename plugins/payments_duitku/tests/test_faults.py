"""Faults: a crash between marking paid and crediting, Duitku timing out or failing, late
payments, and many deliveries of one callback at once. Credits move exactly once."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from lumiku.testing import ManualClock


class CrashingLedger:
    """The real ledger, except that its next ``grant`` raises (a process dying mid-way)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.crashes = 1

    def grant(self, *args: Any, **kwargs: Any) -> Any:
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("injected: died after marking the payment paid")
        return self.real.grant(*args, **kwargs)


def test_a_crash_between_marking_paid_and_crediting_rolls_both_back_and_a_resend_credits_once(
    shop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]
    shop.duitku.pay(order, callback=False)
    monkeypatch.setattr(shop.services.settlement, "ledger", CrashingLedger(shop.runtime.ledger))

    crashed = shop.duitku.send_callback(order)

    assert crashed.status_code == 500  # Duitku resends a callback that was not answered 200
    assert crashed.json()["error"]["code"] == "INTERNAL_ERROR"
    assert shop.payment(order).status == "pending"  # the mark was rolled back with the entry
    assert shop.purchase_entries(order) == 0
    assert user.balance()["balance"] == 100

    resent = shop.duitku.send_callback(order)

    assert (resent.status_code, resent.json()["status"]) == (200, "paid")
    assert shop.purchase_entries(order) == 1
    assert user.balance()["balance"] == 100 + 1_500
    assert shop.duitku.send_callback(order).json()["status"] == "paid"
    assert user.balance()["balance"] == 100 + 1_500


def test_an_inquiry_that_times_out_is_unknown_and_the_poller_credits_it_once(
    make_shop: Callable[..., Any],
) -> None:
    clock = ManualClock()
    shop = make_shop(clock=clock, DUITKU_READ_TIMEOUT="0.5")
    user = shop.sign_up()
    shop.duitku.inquiry_delay = 1.5  # Duitku stores the order and answers too late

    timed_out = user.post("", json={"packageId": "juragan"})

    assert timed_out.status_code == 503, timed_out.text
    error = timed_out.json()["error"]
    assert error["code"] == "PAYMENT_PROVIDER_UNAVAILABLE"
    order = error["details"]["merchantOrderId"]
    payment = shop.payment(order)
    assert (payment.status, payment.reference, payment.payment_url) == ("unknown", None, None)
    shop.duitku.inquiry_delay = 0
    shop.duitku.pay(order, callback=False)  # it existed at Duitku, and got paid there
    assert shop.services.poller.run().checked == 0  # not due yet

    clock.advance(hours=2)
    report = shop.services.poller.run()

    assert (report.checked, report.paid) == (1, 1)
    assert shop.payment(order).status == "paid"
    assert user.balance()["balance"] == 100 + 4_800
    clock.advance(hours=2)
    assert shop.services.poller.run().checked == 0  # paid: nothing left to poll
    assert shop.duitku.send_callback(order).json()["status"] == "paid"  # a late callback
    assert shop.purchase_entries(order) == 1
    assert user.balance()["balance"] == 100 + 4_800


def test_a_5xx_at_inquiry_leaves_no_empty_unique_column_behind(shop: Any) -> None:
    user = shop.sign_up()
    shop.duitku.unavailable = 2

    first = user.post("", json={"packageId": "topup-1500"})
    second = user.post("", json={"packageId": "topup-1500"})
    third = shop.buy(user)

    assert [first.status_code, second.status_code] == [503, 503]
    orders = [r.json()["error"]["details"]["merchantOrderId"] for r in (first, second)]
    assert [shop.payment(order).reference for order in orders] == [None, None]
    assert third["status"] == "pending"
    assert third["reference"]


def test_a_payment_method_duitku_refuses_is_failed_and_answered_422(shop: Any) -> None:
    # Found by schemathesis over HTTP: a channel code the client chose ("90", well-formed but
    # not offered) was a 503, which told clients to retry the same choice later.
    user = shop.sign_up()

    refused = user.post("", json={"packageId": "topup-1500", "paymentMethod": "ZZ"})

    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "PAYMENT_METHOD_REFUSED"
    assert "not available" in error["details"]["fields"]["paymentMethod"]
    assert shop.payment(error["details"]["merchantOrderId"]).status == "failed"
    assert shop.buy(user)["status"] == "pending"  # the default method still works


def test_a_refusal_of_the_servers_own_choice_is_a_503(make_shop: Callable[..., Any]) -> None:
    shop = make_shop(DUITKU_PAYMENT_METHOD="ZZ")  # a default channel the merchant lacks
    user = shop.sign_up()

    refused = user.post("", json={"packageId": "topup-1500"})

    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == "PAYMENT_REFUSED"
    assert "not available" in error["message"]
    assert shop.payment(error["details"]["merchantOrderId"]).status == "failed"


def test_a_late_payment_after_local_expiry_still_credits_once(
    make_shop: Callable[..., Any],
) -> None:
    clock = ManualClock()
    shop = make_shop(clock=clock, DUITKU_EXPIRY_MINUTES="30")
    user = shop.sign_up()
    by_callback = shop.buy(user)["merchantOrderId"]
    by_poller = shop.buy(user)["merchantOrderId"]
    clock.advance(hours=3)  # past the local expiry of both
    shop.duitku.pay(by_callback)  # the callback arrives late
    shop.duitku.pay(by_poller, callback=False)  # this one's callback is lost

    report = shop.services.poller.run()

    assert report.paid == 1
    assert [shop.payment(o).status for o in (by_callback, by_poller)] == ["paid", "paid"]
    assert user.balance()["balance"] == 100 + 2 * 1_500
    assert [shop.purchase_entries(o) for o in (by_callback, by_poller)] == [1, 1]


def test_the_poller_closes_failed_payments_and_gives_up_a_day_after_expiry(
    make_shop: Callable[..., Any],
) -> None:
    clock = ManualClock()
    shop = make_shop(clock=clock, DUITKU_EXPIRY_MINUTES="60")
    user = shop.sign_up()
    failed = shop.buy(user)["merchantOrderId"]
    silent = shop.buy(user)["merchantOrderId"]
    shop.duitku.fail(failed, callback=False)
    shop.duitku.status_overrides[silent] = "01"  # Duitku keeps saying "pending"

    clock.advance(hours=2)
    first = shop.services.poller.run()
    assert (first.checked, first.closed) == (2, 1)
    assert shop.payment(failed).status == "expired"  # 02 after the local expiry
    assert shop.payment(silent).status == "pending"

    for _ in range(60):
        clock.advance(minutes=30)
        shop.services.poller.run()
    assert shop.payment(silent).status == "expired"
    assert user.balance()["balance"] == 100


def test_the_poller_is_a_schedule_the_worker_runs(make_shop: Callable[..., Any]) -> None:
    from lumiku.testing import drain

    clock = ManualClock()
    shop = make_shop(clock=clock)
    assert "payments_duitku.poll" in shop.runtime.actors["payments_duitku"]
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]
    shop.duitku.pay(order, callback=False)
    clock.advance(hours=2)

    shop.runtime.jobs.enqueue("payments_duitku.poll")
    drain(shop.app)

    assert user.balance()["balance"] == 100 + 1_500


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


@pytest.mark.parametrize(
    "backend",
    [pytest.param("postgresql", marks=pytest.mark.postgres), "the run's"],
)
def test_twenty_concurrent_deliveries_of_one_callback_and_the_poller_credit_once(
    make_shop: Callable[..., Any], request: pytest.FixtureRequest, backend: str
) -> None:
    env: dict[str, str] = {}
    if backend == "postgresql":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    elif os.environ.get("LUMIKU_TEST_DATABASE") == "postgresql":
        pytest.skip("the run's backend is PostgreSQL: the other case covers it")
    clock = ManualClock()
    shop = make_shop(clock=clock, **env)
    user = shop.sign_up()
    order = shop.buy(user, "topup-9000")["merchantOrderId"]
    shop.duitku.pay(order, callback=False)
    clock.advance(hours=2)  # the poller finds it due

    deliveries: list[Callable[[], Any]] = [lambda: shop.duitku.send_callback(order)] * 20
    outcomes = _race([*deliveries, shop.services.poller.run])

    answers = Counter(
        (o.status_code, o.json()["status"]) for o in outcomes[:20] if hasattr(o, "status_code")
    )
    assert answers == {(200, "paid"): 20}, outcomes
    assert not isinstance(outcomes[20], Exception), outcomes[20]
    assert shop.purchase_entries(order) == 1
    assert user.balance()["balance"] == 100 + 9_000
    assert [e["kind"] for e in user.history()].count("purchase") == 1
    received = [e for e in shop.services.store.events(order) if e["source"] == "callback"]
    assert len(received) == 20  # every delivery recorded
    assert timedelta(0) <= clock.now - shop.payment(order).created_at
