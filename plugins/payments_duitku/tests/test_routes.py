"""The routes: packages, creating a payment (idempotent), the owner's status and list."""

from __future__ import annotations

from typing import Any


def test_the_packages_are_the_servers_table(shop: Any) -> None:
    packages = shop.http.get("/api/payments/packages").json()["packages"]

    assert packages[0] == {
        "id": "topup-1500",
        "name": "Top-up 1,500 credits",
        "price": 100_000,
        "credits": 1_500,
    }
    assert [p["id"] for p in packages] == [
        "topup-1500",
        "topup-4000",
        "topup-9000",
        "pebisnis",
        "juragan",
    ]


def test_a_configured_package_table_replaces_the_defaults(make_shop: Any) -> None:
    table = '[{"id": "starter", "name": "Starter", "price": 15000, "credits": 150}]'
    shop = make_shop(DUITKU_PACKAGES=table)
    assert shop.http.get("/api/payments/packages").json() == {
        "packages": [{"id": "starter", "name": "Starter", "price": 15_000, "credits": 150}]
    }
    user = shop.sign_up()
    created = shop.buy(user, "starter")
    assert shop.duitku.order(created["merchantOrderId"]).amount == 15_000


def test_a_price_or_credit_count_sent_by_the_client_is_ignored(shop: Any) -> None:
    user = shop.sign_up()

    created = shop.buy(user, "topup-1500", price=1, credits=1_000_000)

    assert (created["amount"], created["credits"]) == (100_000, 1_500)
    assert shop.duitku.order(created["merchantOrderId"]).amount == 100_000
    shop.duitku.pay(created["merchantOrderId"])
    assert user.balance()["balance"] == 100 + 1_500


def test_an_unknown_package_is_422_naming_the_field(shop: Any) -> None:
    user = shop.sign_up()

    refused = user.post("", json={"packageId": "free-money"})

    assert refused.status_code == 422
    fields = refused.json()["error"]["details"]["fields"]
    assert set(fields) == {"packageId"}
    assert "topup-1500" in fields["packageId"]
    assert shop.duitku.calls_to("inquiry") == []


def test_bad_bodies_are_4xx_in_the_common_shape(shop: Any) -> None:
    user = shop.sign_up()
    cases = [
        (user.post("", content=b"{", headers={"Content-Type": "application/json"}), 400),
        (user.post("", json={}), 422),
        (user.post("", json={"packageId": 5}), 422),
        (user.post("", json={"packageId": "topup-1500", "paymentMethod": "visa"}), 422),
        (user.post("", json={"packageId": "topup-1500", "extra": True}), 422),
        (user.post("", data={"packageId": "topup-1500"}), 415),
        (shop.http.post("/api/payments", json={"packageId": "topup-1500"}), 401),
        (user.get("?limit=0"), 422),
        (user.get("?cursor=not-a-cursor"), 400),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert set(response.json()["error"]) == {"code", "message", "details"}


def test_a_retried_create_with_the_same_idempotency_key_makes_one_payment(shop: Any) -> None:
    user = shop.sign_up()
    headers = {"Idempotency-Key": "buy-1"}

    first = user.post("", json={"packageId": "topup-1500"}, headers=headers)
    again = user.post("", json={"packageId": "topup-1500"}, headers=headers)
    other = user.post("", json={"packageId": "topup-4000"}, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert other.status_code == 422  # the key was used for another body
    assert len(shop.duitku.calls_to("inquiry")) == 1
    assert [p["merchantOrderId"] for p in user.get("").json()["payments"]] == [
        first.json()["merchantOrderId"]
    ]


def test_a_retry_of_a_request_that_died_finds_the_payment_it_made(shop: Any) -> None:
    user = shop.sign_up()
    checkout = shop.services.checkout

    class Key:
        """The request key of an attempt that died after creating its payment."""

        def stable_id(self, kind: str) -> str:
            return "5e1f0c2a-1111-4222-8333-944455556666"

    order = checkout.order_id(Key())
    account = type("User", (), {"id": user.user_id, "email": user.email, "name": None})
    first = checkout.create(account, "topup-1500", None, order)
    retried = checkout.create(account, "topup-1500", None, order)

    assert retried == first
    assert len(shop.duitku.calls_to("inquiry")) == 1


def test_another_users_payment_is_404_and_the_owner_sees_it(shop: Any) -> None:
    owner, stranger = shop.sign_up("owner"), shop.sign_up("stranger")
    order = shop.buy(owner)["merchantOrderId"]

    assert owner.get(f"/{order}").json()["status"] == "pending"
    hidden = stranger.get(f"/{order}")
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "PAYMENT_NOT_FOUND"
    assert stranger.get("/LMK-nothing").status_code == 404
    assert stranger.get("").json() == {"payments": [], "nextCursor": None}
    assert shop.http.get(f"/api/payments/{order}").status_code == 401


def test_the_list_is_paginated_newest_first(make_shop: Any) -> None:
    from lumiku.testing import ManualClock

    clock = ManualClock()
    shop = make_shop(clock=clock)
    user = shop.sign_up()
    orders = []
    for _ in range(5):
        orders.append(shop.buy(user)["merchantOrderId"])
        clock.advance(seconds=1)

    first = user.get("?limit=2").json()
    second = user.get(f"?limit=2&cursor={first['nextCursor']}").json()
    third = user.get(f"?limit=2&cursor={second['nextCursor']}").json()

    seen = [p["merchantOrderId"] for page in (first, second, third) for p in page["payments"]]
    assert seen == list(reversed(orders))
    assert third["nextCursor"] is None


def test_payment_methods_come_from_duitku_for_the_packages_price(shop: Any) -> None:
    user = shop.sign_up()

    methods = user.get("/methods?packageId=juragan").json()["methods"]

    assert [m["paymentMethod"] for m in methods] == ["VC", "I1", "SP"]
    (call,) = shop.duitku.calls_to("getpaymentmethod")
    assert call["amount"] == 249_000
    assert user.get("/methods?packageId=nope").status_code == 422
    shop.duitku.unavailable = 1
    assert user.get("/methods?packageId=juragan").status_code == 503
