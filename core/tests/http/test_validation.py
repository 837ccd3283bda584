"""A 422 names every failing field and rule at once, in camelCase, at every decoding boundary
(JSON strings, query strings, path parameters; forms are in test_forms.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from starlette.testclient import TestClient

from lumiku import Call, field, get, post

from .conftest import error_of, plugin_of


@attrs.frozen
class LineItem:
    """One line of an order."""

    product_name: str = field(min_length=1, max_length=10, pattern=r"[a-z ]+")
    quantity: int = field(ge=1, le=99)


@attrs.frozen
class Order:
    """An order with rules on several fields."""

    customer_name: str = field(min_length=2, max_length=30, strip=True)
    items: list[LineItem] = field(min_items=1, max_items=3)
    priority: str = field(default="normal", choices=("normal", "rush"))
    coupon_code: str | None = field(default=None, pattern=r"[A-Z]{4}\d{2}")
    weight: float = field(default=1.0, ge=0.1, le=50)
    labels: tuple[str, ...] = attrs.field(default=())

    @labels.validator
    def _no_shouting(self, _attribute: Any, value: tuple[str, ...]) -> None:
        if any(label.isupper() for label in value):
            raise ValueError("labels must not be all capitals")


@attrs.frozen
class OrderQuery:
    """Filters."""

    page_size: int = field(default=10, ge=1, le=100)
    status_in: tuple[str, ...] = field(default=(), max_items=3)
    after: str | None = field(default=None, max_length=5)
    urgent: bool | None = None


def order_routes(ctx: Any) -> list[Any]:
    def create(call: Call[Order, OrderQuery]) -> dict[str, Any]:
        """Place an order."""
        return {"customer": call.body.customer_name, "lines": len(call.body.items)}

    def search(call: Call[None, OrderQuery]) -> dict[str, Any]:
        """Search orders."""
        query = call.query
        return {
            "pageSize": query.page_size,
            "statusIn": list(query.status_in),
            "after": query.after,
            "urgent": query.urgent,
        }

    def one(call: Call[None, None]) -> dict[str, Any]:
        """Read one order."""
        return {"id": call.path["order_id"]}

    def numbered(call: Call[None, None]) -> dict[str, Any]:
        """Read one order by number."""
        return {"number": call.path["number"]}

    return [
        post("/orders", create, body=Order, query=OrderQuery),
        get("/orders", search, query=OrderQuery),
        get("/orders/{order_id}", one),
        get("/numbered/{number:int}", numbered),
    ]


BASE = "/api/apps/lkt-orders"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client([plugin_of("lkt_orders", order_routes)])


GOOD = {"customerName": "Ana", "items": [{"productName": "lamp", "quantity": 1}]}


def test_every_failing_field_and_rule_is_named_at_once(client: TestClient) -> None:
    response = client.post(
        f"{BASE}/orders",
        json={
            "customerName": "  A  ",
            "items": [
                {"productName": "lamp", "quantity": 1},
                {"productName": "LAMP 2", "quantity": 100},
                {"quantity": "3", "colour": "red"},
            ],
            "priority": "asap",
            "couponCode": "abc",
            "weight": 0,
            "labels": ["ok", "LOUD"],
            "customer_name": "snake",
        },
    )
    error = error_of(response, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"] == {
        "customerName": "must be at least 2 characters",
        "items[1].productName": "must match [a-z ]+",
        "items[1].quantity": "must be at most 99",
        "items[2].productName": "is required",
        "items[2].quantity": "expected an integer, got a string",
        "items[2].colour": "is not an accepted field",
        "priority": "must be one of normal, rush",
        "couponCode": "must match [A-Z]{4}\\d{2}",
        "weight": "must be at least 0.1",
        "labels": "labels must not be all capitals",
        "customer_name": "is not an accepted field",
    }
    for name in error["details"]["fields"]:
        assert name in error["message"]


def test_several_rules_of_one_field_are_named_together(client: TestClient) -> None:
    items = [{"productName": "TOO LONG FOR IT", "quantity": 1}] * 4
    response = client.post(f"{BASE}/orders", json={"customerName": "Ana", "items": items})
    fields = error_of(response, 422, "VALIDATION_ERROR")["details"]["fields"]
    assert fields["items[0].productName"] == "must be at most 10 characters; must match [a-z ]+"
    response = client.post(f"{BASE}/orders", json={"customerName": "Ana", "items": []})
    assert error_of(response, 422, "VALIDATION_ERROR")["details"]["fields"] == {
        "items": "must have at least 1 item"
    }


def test_query_and_body_failures_come_in_one_422(client: TestClient) -> None:
    response = client.post(f"{BASE}/orders?pageSize=0", json={"items": []})
    error = error_of(response, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"] == {
        "pageSize": "must be at least 1",
        "customerName": "is required",
        "items": "must have at least 1 item",
    }
    assert "query string and request body" in error["message"]
    assert client.post(f"{BASE}/orders?pageSize=5", json=GOOD).status_code == 200


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({**GOOD, "weight": "1.5"}, {"weight": "expected a number, got a string"}),
        ({**GOOD, "weight": True}, {"weight": "expected a number, got a boolean"}),
        ({**GOOD, "labels": "a,b"}, {"labels": "expected an array, got a string"}),
        ({**GOOD, "items": {"a": 1}}, {"items": "expected an array, got an object"}),
        ({**GOOD, "items": [1]}, {"items[0]": "expected an object, got an integer"}),
        (
            {**GOOD, "customerName": "A\u0000na"},
            {"customerName": "must not contain NUL characters"},
        ),
        ({**GOOD, "couponCode": None}, None),
    ],
)
def test_json_values_are_strict(
    client: TestClient, body: dict[str, Any], fields: dict[str, str] | None
) -> None:
    response = client.post(f"{BASE}/orders", json=body)
    if fields is None:
        assert response.status_code == 200, response.text
    else:
        assert error_of(response, 422, "VALIDATION_ERROR")["details"]["fields"] == fields


@pytest.mark.parametrize(
    "raw",
    [
        b'{"customerName": "\\ud800", "items": []}',  # a lone surrogate cannot be UTF-8
        b'{"customerName": "Ana", "items": [], "weight": NaN}',
        b'{"customerName": "Ana", "items": [], "weight": Infinity}',
    ],
)
def test_json_that_cannot_be_stored_is_400(client: TestClient, raw: bytes) -> None:
    response = client.post(
        f"{BASE}/orders", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in {"INVALID_JSON", "INVALID_TEXT"}


def test_a_number_too_large_for_a_float_is_refused(client: TestClient) -> None:
    raw = (
        b'{"customerName": "Ana", "items": [{"productName": "a", "quantity": 1}], "weight": 1e999}'
    )
    response = client.post(
        f"{BASE}/orders", content=raw, headers={"Content-Type": "application/json"}
    )
    fields = error_of(response, 422, "VALIDATION_ERROR")["details"]["fields"]
    assert fields == {"weight": "must be a finite number"}


def test_query_strings_are_text_with_the_same_rules(client: TestClient) -> None:
    search = f"{BASE}/orders"
    assert client.get(search, params={"statusIn": ["a,b", "c"]}).json()["statusIn"] == ["a,b", "c"]
    assert client.get(search + "?statusIn=a,b").json()["statusIn"] == ["a", "b"]
    assert client.get(search + '?statusIn=["x"]').json()["statusIn"] == ["x"]
    assert client.get(search + "?urgent=yes&pageSize=%2020").json() == {
        "pageSize": 20,
        "statusIn": [],
        "after": None,
        "urgent": True,
    }
    # An empty value of a parameter with a default is the default.
    assert client.get(search + "?after=&urgent=&pageSize=").json()["pageSize"] == 10
    response = client.get(
        search + "?pageSize=1&pageSize=2&statusIn=a,b,c,d&after=toolong&urgent=perhaps&page_size=1"
    )
    assert error_of(response, 422, "VALIDATION_ERROR")["details"]["fields"] == {
        "pageSize": "must be sent once, not 2 times",
        "statusIn": "must have at most 3 items",
        "after": "must be at most 5 characters",
        "urgent": "expected true or false, got 'perhaps'",
        "page_size": "is not an accepted field",
    }
    huge = client.get(search + "?pageSize=99999999999999999999")
    assert error_of(huge, 422, "VALIDATION_ERROR")["details"]["fields"] == {
        "pageSize": "must be a 64-bit integer"
    }
    nul = client.get(search + "?after=a%00b")
    assert error_of(nul, 422, "VALIDATION_ERROR")["details"]["fields"] == {
        "after": "must not contain NUL characters"
    }
    error_of(client.get(search + "?after=%FF"), 400, "INVALID_TEXT")


def test_path_parameters_are_checked_and_named_in_camel_case(client: TestClient) -> None:
    error = error_of(client.get(f"{BASE}/orders/a%00b"), 400, "BAD_REQUEST")
    assert "'orderId'" in error["message"]
    assert client.get(f"{BASE}/numbered/42").json() == {"number": 42}
    error_of(client.get(f"{BASE}/numbered/99999999999999999999"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        # the reviewer's case: the last of two keys would win silently
        (b'{"customerName": "Ana", "customerName": "Bob", "items": []}', "customerName"),
        (b'{"customerName": "Ana", "items": [{"quantity": 1, "quantity": 99}]}', "quantity"),
        (b'{"customerName": "Ana", "items": [], "x": {"a": {"b": 1, "b": 2}}}', "b"),
        (b'{"customerName": "Ana", "items": [], "weight": 1, "weight": 1}', "weight"),
    ],
)
def test_a_key_sent_twice_is_400_naming_it(client: TestClient, raw: bytes, key: str) -> None:
    response = client.post(
        f"{BASE}/orders", content=raw, headers={"Content-Type": "application/json"}
    )
    error = error_of(response, 400, "DUPLICATE_KEY")
    assert error["details"] == {"key": key}
    assert repr(key) in error["message"]


def test_keys_differing_in_case_or_in_other_objects_are_not_duplicates(
    client: TestClient,
) -> None:
    raw = (
        b'{"customerName": "Ana", "CustomerName": "x", "items": '
        b'[{"productName": "a", "quantity": 1}, {"productName": "b", "quantity": 2}]}'
    )
    response = client.post(
        f"{BASE}/orders", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code != 400, response.text
