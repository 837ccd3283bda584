"""Callbacks that must not credit: each is refused or left pending, nothing is credited,
and no answer is a 500. Duitku's own resultCode is never trusted."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from lumiku_payments_duitku.signatures import callback_signature

CALLBACK = "/api/payments/callback"


def _paid_order(shop: Any) -> tuple[Any, str]:
    """Return a user and an order paid at Duitku whose callback has not been sent."""
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]
    shop.duitku.pay(order, callback=False)
    return user, order


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def _nothing_credited(shop: Any, user: Any, order: str) -> None:
    assert user.balance()["balance"] == 100
    assert shop.purchase_entries(order) == 0
    assert shop.payment(order).status == "pending"


def test_a_forged_signature_is_refused(shop: Any) -> None:
    user, order = _paid_order(shop)

    forged = shop.duitku.send_callback(order, fields={"signature": "0" * 32})

    _error(forged, 403, "INVALID_SIGNATURE")
    _nothing_credited(shop, user, order)
    assert shop.services.store.events(order) == []  # refused before anything is recorded


def test_a_signature_made_without_the_key_is_refused(shop: Any) -> None:
    user, order = _paid_order(shop)
    fields = shop.duitku.callback_form(order)
    keyless = hashlib.md5(  # noqa: S324 - what an attacker without the key can compute
        f"{fields['merchantCode']}{fields['amount']}{order}".encode()
    ).hexdigest()

    refused = shop.duitku.send_callback(order, fields={"signature": keyless})

    _error(refused, 403, "INVALID_SIGNATURE")
    _nothing_credited(shop, user, order)


def test_a_wrong_merchant_code_is_refused_even_signed_with_the_key(shop: Any) -> None:
    user, order = _paid_order(shop)
    fields = shop.duitku.callback_form(order)
    signature = callback_signature("D9999", fields["amount"], order, shop.ctx.settings.api_key)

    refused = shop.duitku.send_callback(
        order, fields={"merchantCode": "D9999", "signature": signature}
    )

    _error(refused, 403, "UNKNOWN_MERCHANT")
    _nothing_credited(shop, user, order)


def test_a_signed_callback_for_an_unknown_order_is_404_and_recorded(shop: Any) -> None:
    user, order = _paid_order(shop)
    fields = shop.duitku.callback_form(order)
    key = shop.ctx.settings.api_key
    other = "LMK-not-ours"
    fields.update(
        merchantOrderId=other,
        signature=callback_signature(fields["merchantCode"], fields["amount"], other, key),
    )

    refused = shop.http.post(CALLBACK, data=fields)

    _error(refused, 404, "UNKNOWN_ORDER")
    _nothing_credited(shop, user, order)
    assert [e["outcome"] for e in shop.services.store.events(other)] == ["unknown_order"]


@pytest.mark.parametrize(
    ("amount", "status", "code"),
    [
        ("1", 409, "AMOUNT_MISMATCH"),
        ("100000.5", 400, "INVALID_AMOUNT"),
        ("1e5", 400, "INVALID_AMOUNT"),
    ],
)
def test_an_amount_changed_and_re_signed_with_the_key_credits_nothing(
    shop: Any, amount: str, status: int, code: str
) -> None:
    user, order = _paid_order(shop)
    fields = shop.duitku.callback_form(order)
    key = shop.ctx.settings.api_key
    signature = callback_signature(fields["merchantCode"], amount, order, key)

    refused = shop.duitku.send_callback(order, fields={"amount": amount, "signature": signature})

    _error(refused, status, code)
    _nothing_credited(shop, user, order)


def test_the_raw_amount_is_what_is_signed(shop: Any) -> None:
    user, order = _paid_order(shop)
    key = shop.ctx.settings.api_key
    fields = shop.duitku.callback_form(order)
    # "100000.00" is the order's amount, but the signature covers "100000" as sent first.
    resent = shop.duitku.send_callback(order, fields={"amount": fields["amount"] + ".00"})
    _error(resent, 403, "INVALID_SIGNATURE")

    signed = callback_signature(fields["merchantCode"], fields["amount"] + ".00", order, key)
    accepted = shop.duitku.send_callback(
        order, fields={"amount": fields["amount"] + ".00", "signature": signed}
    )
    assert (accepted.status_code, accepted.json()["status"]) == (200, "paid")
    assert user.balance()["balance"] == 100 + 1_500


def test_result_code_00_that_transaction_status_does_not_confirm_is_left_pending(
    shop: Any,
) -> None:
    user = shop.sign_up()
    order = shop.buy(user)["merchantOrderId"]  # not paid at Duitku: its status is 01

    claimed = shop.duitku.send_callback(order, result_code="00")

    assert (claimed.status_code, claimed.json()["status"]) == (200, "pending")
    _nothing_credited(shop, user, order)
    outcomes = [(e["source"], e["outcome"]) for e in shop.services.store.events(order)]
    assert outcomes == [("callback", "received"), ("status", "pending")]


def test_a_paid_status_with_another_amount_is_put_in_review_and_credits_nothing(
    shop: Any,
) -> None:
    user, order = _paid_order(shop)
    shop.duitku.order(order).amount = 1_000  # Duitku's record differs from ours

    fields = shop.duitku.callback_form(order)
    key = shop.ctx.settings.api_key
    fields.update(amount="100000", signature=callback_signature("D0001", "100000", order, key))
    answered = shop.http.post(CALLBACK, data=fields)

    assert (answered.status_code, answered.json()["status"]) == (200, "review")
    assert user.balance()["balance"] == 100
    assert shop.purchase_entries(order) == 0


def test_a_json_body_is_415_and_credits_nothing(shop: Any) -> None:
    user, order = _paid_order(shop)

    refused = shop.http.post(CALLBACK, json=shop.duitku.callback_form(order))

    _error(refused, 415, "UNSUPPORTED_MEDIA_TYPE")
    _nothing_credited(shop, user, order)


@pytest.mark.parametrize("missing", ["signature", "amount", "merchantOrderId", "resultCode"])
def test_missing_fields_are_422_and_credit_nothing(shop: Any, missing: str) -> None:
    user, order = _paid_order(shop)
    fields = shop.duitku.callback_form(order)
    del fields[missing]

    refused = shop.http.post(CALLBACK, data=fields)

    assert _error(refused, 422, "VALIDATION_ERROR")["details"]["fields"] == {missing: "is required"}
    _nothing_credited(shop, user, order)


def test_fields_duitku_may_add_are_ignored(shop: Any) -> None:
    user, order = _paid_order(shop)

    accepted = shop.duitku.send_callback(order, fields={"sourceAccount": "1234"})

    assert (accepted.status_code, accepted.json()["status"]) == (200, "paid")
    assert user.balance()["balance"] == 100 + 1_500


def test_the_browser_return_url_credits_nothing(shop: Any) -> None:
    user, order = _paid_order(shop)
    # The return URL is the web app's; even sent here, a GET with resultCode=00 is no callback.
    forged = shop.http.get(f"{CALLBACK}?merchantOrderId={order}&resultCode=00")
    assert forged.status_code in (401, 405)
    _nothing_credited(shop, user, order)


def test_callbacks_from_outside_the_allow_list_are_refused(
    make_shop: Callable[..., Any],
) -> None:
    shop = make_shop(DUITKU_CALLBACK_IPS="duitku")  # the test's 127.0.0.1 is not Duitku
    user, order = _paid_order(shop)

    refused = shop.duitku.send_callback(order)

    _error(refused, 403, "CALLBACK_SOURCE_REFUSED")
    _nothing_credited(shop, user, order)
    allowed = make_shop(DUITKU_CALLBACK_IPS="duitku, 127.0.0.0/8")
    user, order = _paid_order(allowed)
    assert allowed.duitku.send_callback(order).json()["status"] == "paid"


def test_status_unreadable_answers_503_so_duitku_resends_then_credits_once(shop: Any) -> None:
    user, order = _paid_order(shop)
    shop.duitku.unavailable = 1  # transactionStatus answers 503 once

    first = shop.duitku.send_callback(order)
    _error(first, 503, "PAYMENT_PROVIDER_UNAVAILABLE")
    assert user.balance()["balance"] == 100

    resent = shop.duitku.send_callback(order)
    assert (resent.status_code, resent.json()["status"]) == (200, "paid")
    assert user.balance()["balance"] == 100 + 1_500
