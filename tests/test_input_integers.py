"""Every integer from a request is checked against the range of the column it meets, on
SQLite and PostgreSQL alike: cursors (a 32-bit sort key takes no 2^31, a BIGINT id no
2^63), query integers, and text that only looks like digits (fullwidth digits, ``1e3``)."""

from __future__ import annotations

import asyncio
import base64
import json
import types
import typing
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from lumiku.http.bodies import read_body
from lumiku.http.fields import field_rules
from lumiku.http.routing import walk_routes
from lumiku.integers import INT32, INT64, check_whole, column_range, parse_whole

CATALOG = ("/api/apps/avatar-creator/presets", "/api/apps/avatar-creator/persona-examples")
PASSWORD = "amber-violin-7-quartz"


def cursor(*values: Any) -> str:
    raw = json.dumps({"v": 1, "k": list(values)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# A sort key in a 32-bit INTEGER column (sort_order) then the id.
SORT_ORDER_CURSORS = {
    "2^31 - 1": (2**31 - 1, 200),
    "2^31": (2**31, 400),
    "2^63": (2**63, 400),
    "-1": (-1, 200),
    "-2^31": (-(2**31), 200),
    "-2^31 - 1": (-(2**31) - 1, 400),
    "1e3": (1e3, 400),
    "fullwidth 12": ("１２", 400),
    "12 as text": ("12", 400),
    "true": (True, 400),
}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.mark.parametrize("path", CATALOG)
@pytest.mark.parametrize("label", sorted(SORT_ORDER_CURSORS))
def test_a_catalog_cursor_holds_a_32_bit_sort_key(
    client: TestClient, path: str, label: str
) -> None:
    value, status = SORT_ORDER_CURSORS[label]
    response = client.get(path, params={"cursor": cursor(value, "preset-id")})
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"]["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize(
    ("value", "status"),
    [(2**63 - 1, 200), (2**63, 400), (-1, 200), (2**31, 200), (1e3, 400), ("１２", 400)],
)
def test_a_history_cursor_holds_a_64_bit_id(client: TestClient, value: Any, status: int) -> None:
    token = client.post(
        "/api/auth/register", json={"email": "n@example.com", "password": PASSWORD}
    ).json()["token"]
    response = client.get(
        "/api/credits/history",
        params={"cursor": cursor(value)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == status, response.text


@pytest.mark.parametrize(
    "limit", ["0", "-1", "101", str(2**31), str(2**63), "1e3", "１２", "1_0", " 1 0", "0x10", "+5"]
)
def test_query_integers_are_ascii_digits_within_their_range(client: TestClient, limit: str) -> None:
    response = client.get(CATALOG[0], params={"limit": limit})
    assert response.status_code == 422, response.text
    assert list(response.json()["error"]["details"]["fields"]) == ["limit"]


def test_a_query_integer_at_its_bounds_is_accepted(client: TestClient) -> None:
    assert client.get(CATALOG[0], params={"limit": "1"}).status_code == 200
    assert client.get(CATALOG[0], params={"limit": "100"}).status_code == 200
    assert client.get(CATALOG[0], params={"limit": "007"}).status_code == 200


@pytest.mark.parametrize("declared", [b"\xb2", b"\xb9\xb2", b"1\xb2"])
def test_a_content_length_of_latin_1_digits_is_not_read_as_a_number(declared: bytes) -> None:
    # Starlette decodes headers as Latin-1, where "²" counts as a digit but int() refuses it.
    body = b'{"a": 1}'

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "headers": [(b"content-length", declared)]}
    request = Request(scope, receive)
    assert asyncio.run(read_body(request, 1024)) == body


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("2147483647", 2**31 - 1), ("-2147483648", -(2**31)), ("0012", 12)],
)
def test_parse_whole_reads_ascii_digits(text: str, expected: int) -> None:
    assert parse_whole(text, *INT32) == expected


@pytest.mark.parametrize(
    "text", ["2147483648", "-2147483649", "１２", "1e3", "1_000", " 1", "", "-", "٣", "1.0"]
)
def test_parse_whole_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="whole number"):
        parse_whole(text, *INT32)


@pytest.mark.parametrize("value", [True, 1.0, 1e3, "1", None])
def test_check_whole_takes_ints_only(value: object) -> None:
    with pytest.raises(TypeError):
        check_whole(value, *INT64)


def test_column_ranges() -> None:
    import sqlalchemy as sa

    assert column_range(sa.Integer()) == INT32
    assert column_range(sa.BigInteger()) == INT64
    assert column_range(sa.BigInteger().with_variant(sa.Integer(), "sqlite")) == INT64
    assert column_range(sa.SmallInteger()) == (-(2**15), 2**15 - 1)
    with pytest.raises(ValueError, match="from 0 to 1000000000"):
        check_whole(2**31, 0, 10**9)


def _int_fields(cls: type, seen: set[type]) -> list[tuple[str, dict[str, Any]]]:
    """Return ``(Class.field, rules)`` of every scalar int field of ``cls`` and its nested
    attrs classes."""
    if cls in seen:
        return []
    seen.add(cls)
    attrs.resolve_types(cls)
    found = []
    for attribute in attrs.fields(cls):
        tp = attribute.type
        args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
        inner = args[0] if typing.get_origin(tp) in (typing.Union, types.UnionType) else tp
        if inner is int:
            found.append((f"{cls.__name__}.{attribute.name}", field_rules(attribute)))
        for arg in (inner, *typing.get_args(inner)):
            if isinstance(arg, type) and attrs.has(arg):
                found.extend(_int_fields(arg, seen))
    return found


def test_every_integer_the_shipped_routes_take_declares_its_range(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(DUITKU_MERCHANT_CODE="D0001", DUITKU_API_KEY="integers-key")
    seen: set[type] = set()
    fields = []
    for _path, item in walk_routes(client.app.routes):  # type: ignore[attr-defined]
        spec = getattr(item, "endpoint_spec", None)
        for cls in (spec.body, spec.form, spec.query) if spec else ():
            if cls is not None:
                fields.extend(_int_fields(cls, seen))
    assert len(fields) >= 5
    unbounded = [name for name, rules in fields if "minimum" not in rules or "maximum" not in rules]
    assert unbounded == []
    too_wide = [name for name, rules in fields if not INT64[0] <= rules["minimum"]]
    assert too_wide == []
    assert all(rules["maximum"] <= INT64[1] for _name, rules in fields)
