"""The whole flow over real HTTP: create, pay at the emulator, the callback, credits."""

from __future__ import annotations

from typing import Any

from lumiku_payments_duitku.signatures import callback_signature


def test_the_reference_test_vector_verifies() -> None:
    # shared/reference/duitku.md, "Test vector".
    signature = callback_signature("D0001", "10000", "12345", "732B39FC61796845775D2C4FB05332AF")
    assert signature == "4104f20a70c933113c66c004fe25a9f1"


def test_create_pay_callback_and_the_balance_grows_by_the_packages_credits(shop: Any) -> None:
    user = shop.sign_up()
    before = user.balance()["balance"]

    created = shop.buy(user, "topup-4000")

    assert created["status"] == "pending"
    assert (created["amount"], created["credits"]) == (250_000, 4_000)
    order = shop.duitku.order(created["merchantOrderId"])
    assert created["paymentUrl"].endswith(f"/pay/{order.reference}")
    assert (order.amount, order.reference) == (250_000, created["reference"])
    assert order.callback_url == f"{shop.url}/api/payments/callback"

    delivered = shop.duitku.pay(created["merchantOrderId"])

    assert delivered.status_code == 200, delivered.text
    assert delivered.json() == {"merchantOrderId": created["merchantOrderId"], "status": "paid"}
    assert user.balance()["balance"] == before + 4_000
    status = user.get(f"/{created['merchantOrderId']}").json()
    assert (status["status"], status["paidAt"] is not None) == ("paid", True)
    entry = user.history()[0]
    assert (entry["kind"], entry["amount"]) == ("purchase", 4_000)
    assert shop.purchase_entries(created["merchantOrderId"]) == 1


def test_the_payment_page_pays_and_sends_the_browser_back(shop: Any) -> None:
    user = shop.sign_up()
    created = shop.buy(user, "pebisnis")
    page = shop.http.get(created["paymentUrl"])
    assert page.status_code == 200
    assert "Pay" in page.text
    assert created["merchantOrderId"] in page.text

    chosen = shop.http.post(created["paymentUrl"], data={"action": "pay"}, follow_redirects=False)

    assert chosen.status_code == 303
    assert chosen.headers["location"].startswith("http://127.0.0.1:9/after-payment?")
    assert "resultCode=00" in chosen.headers["location"]
    assert user.get(f"/{created['merchantOrderId']}").json()["status"] == "paid"
    assert user.balance()["balance"] == 100 + 1_800


def test_a_duplicate_callback_answers_200_and_changes_nothing(shop: Any) -> None:
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]
    shop.duitku.pay(order)

    again = shop.duitku.send_callback(order)

    assert (again.status_code, again.json()["status"]) == (200, "paid")
    assert user.balance()["balance"] == 100 + 1_500
    assert shop.purchase_entries(order) == 1


def test_a_failed_payment_credits_nothing(shop: Any) -> None:
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]

    answer = shop.duitku.fail(order)

    assert (answer.status_code, answer.json()["status"]) == (200, "failed")
    assert user.balance()["balance"] == 100
    assert shop.purchase_entries(order) == 0
