"""The anonymous routes take small bodies: a slow client cannot hold sign-in or sign-up
for minutes by sending a large body at the server's minimum rate (16 KiB, declared or
chunked, is refused with 413 before the body is read past it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lumiku.http.declare import post
from lumiku.http.endpoint import ANONYMOUS_BODY_LIMIT, Endpoint
from lumiku.http.openapi import _walk
from lumiku.testing import PASSWORD

DUITKU = {"DUITKU_MERCHANT_CODE": "D0001", "DUITKU_API_KEY": "limits-test-key"}
ROUTES = ["/api/auth/register", "/api/auth/login"]


def padded(size: int) -> bytes:
    """Return a JSON credentials object of exactly ``size`` bytes."""
    base = {"email": "pad@example.com", "password": PASSWORD, "name": ""}
    room = size - len(json.dumps(base).encode())
    return json.dumps({**base, "name": "x" * room}).encode()


def chunks(body: bytes, size: int = 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("path", ROUTES)
def test_a_declared_body_over_16_kib_is_413(make_client: Callable[..., Any], path: str) -> None:
    client = make_client([])
    answer = client.post(
        path, content=padded(ANONYMOUS_BODY_LIMIT + 1), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert answer.json()["error"]["details"] == {"limit": ANONYMOUS_BODY_LIMIT}


@pytest.mark.parametrize("path", ROUTES)
def test_a_chunked_body_over_16_kib_is_413(make_client: Callable[..., Any], path: str) -> None:
    client = make_client([])
    body = padded(ANONYMOUS_BODY_LIMIT + 1)
    answer = client.post(path, content=chunks(body), headers={"content-type": "application/json"})
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_body_at_the_limit_is_read(make_client: Callable[..., Any]) -> None:
    client = make_client([])
    answer = client.post(
        "/api/auth/login",
        content=padded(ANONYMOUS_BODY_LIMIT),
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 422  # read and checked: the name is not a login field
    assert answer.json()["error"]["code"] == "VALIDATION_ERROR"


def test_the_profile_change_takes_a_small_body_too(
    make_client: Callable[..., Any],
) -> None:
    client = make_client([])
    token = client.post(
        "/api/auth/register", json={"email": "size@example.com", "password": PASSWORD}
    ).json()["token"]
    answer = client.put(
        "/api/auth/profile",
        content=padded(ANONYMOUS_BODY_LIMIT + 1),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 413


def test_every_anonymous_route_with_a_body_takes_at_most_16_kib(
    make_client: Callable[..., Any],
) -> None:
    client = make_client(None, **DUITKU)  # core and the shipped plugins
    anonymous = {}
    for path, route, _plugin in _walk(client.app.routes):
        spec: Endpoint | None = getattr(route, "endpoint_spec", None)
        if spec is not None and spec.takes_body and spec.auth is None:
            anonymous[f"{spec.method} {path}"] = spec.body_limit
    assert {"POST /api/auth/register", "POST /api/auth/login", "POST /api/payments/callback"} <= (
        set(anonymous)
    )
    assert all(limit <= ANONYMOUS_BODY_LIMIT for limit in anonymous.values()), anonymous


def test_an_anonymous_declaration_without_a_limit_gets_the_small_one() -> None:
    def handler(call: Any) -> None:
        return None

    def limit(**declaration: Any) -> int:
        spec: Endpoint = post("/x", handler, body=dict, **declaration).endpoint_spec  # type: ignore[attr-defined]
        return spec.body_limit

    assert limit() == ANONYMOUS_BODY_LIMIT
    assert limit(auth="user") == 1024 * 1024
    assert limit(max_body=50_000) == 50_000
