"""Text that cannot be encoded as UTF-8 is a 400 ``INVALID_TEXT`` at every decoding boundary
(JSON keys and values, form fields and filenames, query, path, headers), on every route of
the shipped plugins and the core, signed in or not; never a 500."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from lumiku.http.endpoint import Endpoint
from lumiku.http.routing import walk_routes

PASSWORD = "amber-violin-7-quartz"
DUITKU = {"DUITKU_MERCHANT_CODE": "D0001", "DUITKU_API_KEY": "text-test-key"}
# JSON documents holding a lone surrogate: as a value, a key, deep in a nested value.
SURROGATE_BODIES = {
    "value": b'{"name": "\\ud800", "email": "\\ud800@example.com", "password": "\\udfff"}',
    "key": b'{"\\ud800": 1}',
    "nested": b'{"a": {"b": [1, {"c": "x\\udc00y"}]}, "name": "ok"}',
    "low and high reversed": b'{"name": "\\udc00\\ud800"}',
}
PUBLIC = {"/api/auth/login", "/api/auth/register"}


def declared(client: TestClient) -> Iterator[tuple[str, Endpoint]]:
    """Yield ``(path, endpoint)`` for every declared route of the app."""
    for path, item in walk_routes(client.app.routes):  # type: ignore[attr-defined]
        spec: Endpoint | None = getattr(item, "endpoint_spec", None)
        if spec is not None:
            yield path, spec


def concrete(path: str, value: str = "1") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def account(client: TestClient, role: str) -> tuple[str, str]:
    """Return ``(user id, token)`` of a new account with ``role``."""
    auth = client.app.state.runtime.auth  # type: ignore[attr-defined]
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    auth.create_user(email, PASSWORD, role)
    user, token = auth.login(email, PASSWORD, None)
    return str(user.id), str(token.token)


def token_of(client: TestClient, role: str) -> str:
    return account(client, role)[1]


@pytest.fixture
def shipped(make_client: Callable[..., TestClient]) -> tuple[TestClient, dict[str, str]]:
    """Return a client on every shipped plugin (payments configured) and a token per role."""
    client = make_client(**DUITKU)
    return client, {"user": token_of(client, "user"), "admin": token_of(client, "admin")}


def assert_invalid_text(response: Any, where: str) -> None:
    assert response.status_code == 400, f"{where}: {response.status_code} {response.text}"
    assert response.json()["error"]["code"] == "INVALID_TEXT", where
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_the_shipped_routes_cover_what_the_issue_names(shipped: Any) -> None:
    client, _ = shipped
    paths = {path for path, spec in declared(client) if spec.body is not None}
    assert {"/api/auth/login", "/api/auth/register", "/api/payments"} <= paths
    assert "/api/apps/avatar-creator/projects" in paths


@pytest.mark.parametrize("variant", sorted(SURROGATE_BODIES))
def test_a_lone_surrogate_in_a_json_body_is_400_on_every_route(shipped: Any, variant: str) -> None:
    client, tokens = shipped
    checked = 0
    for path, spec in declared(client):
        if spec.body is None:
            continue
        url = concrete(path)
        raw = SURROGATE_BODIES[variant]
        headers = {"Content-Type": "application/json"}
        signed_in = {**headers, "Authorization": f"Bearer {tokens[spec.auth or 'user']}"}
        response = client.request(spec.method, url, content=raw, headers=signed_in)
        assert_invalid_text(response, f"{spec.method} {url} ({variant}, signed in)")
        anonymous = client.request(spec.method, url, content=raw, headers=headers)
        if spec.auth is None:
            assert_invalid_text(anonymous, f"{spec.method} {url} ({variant}, anonymous)")
        else:  # refused either way: unreadable text, or no credentials
            assert anonymous.status_code in {400, 401}, anonymous.text
        checked += 1
    assert checked >= 10


def test_unreadable_text_in_a_form_is_400_on_every_form_route(shipped: Any) -> None:
    client, tokens = shipped
    checked = 0
    for path, spec in declared(client):
        if spec.form_layout is None:
            continue
        url = concrete(path)
        headers = {"Authorization": f"Bearer {tokens[spec.auth or 'user']}"}
        file_field = next((f.wire for f in spec.form_layout.fields.values() if f.is_file), "f")
        text_field = next((f.wire for f in spec.form_layout.fields.values() if not f.is_file), None)
        parts = {
            "field name": ("\xff", b"", b"x"),
            "filename": (file_field, b'; filename="\xff\xfe.png"', b"\x89PNG"),
        }
        if text_field is not None:  # an undeclared field's bytes are never read
            parts["field value"] = (text_field, b"", b"\xed\xa0\x80")  # an encoded surrogate
        for label, (name, extra, value) in parts.items():
            encoded = name.encode("latin-1") if isinstance(name, str) else name
            body = (
                b'--b\r\nContent-Disposition: form-data; name="'
                + encoded
                + b'"'
                + extra
                + b"\r\n\r\n"
                + value
                + b"\r\n--b--\r\n"
            )
            response = client.request(
                spec.method,
                url,
                content=body,
                headers={**headers, "Content-Type": "multipart/form-data; boundary=b"},
            )
            assert_invalid_text(response, f"{spec.method} {url} ({label})")
        checked += 1
    assert checked >= 1


def test_unreadable_text_in_a_query_string_is_400(shipped: Any) -> None:
    client, tokens = shipped
    checked = 0
    for path, spec in declared(client):
        if spec.query is None:
            continue
        url = concrete(path)
        headers = {"Authorization": f"Bearer {tokens[spec.auth or 'user']}"}
        for query in ("cursor=%ED%A0%80", "%FF=1", "limit=%FF"):
            response = client.request(spec.method, f"{url}?{query}", headers=headers)
            assert_invalid_text(response, f"{spec.method} {url}?{query}")
        checked += 1
    assert checked >= 3


def test_unreadable_text_in_a_path_parameter_is_400(shipped: Any) -> None:
    client, tokens = shipped
    checked = 0
    for path, spec in declared(client):
        if "{" not in path:
            continue
        headers = {"Authorization": f"Bearer {tokens[spec.auth or 'user']}"}
        for value in ("%FF", "%ED%A0%80", "a%C3"):
            url = concrete(path, value)
            response = client.request(spec.method, url, headers=headers)
            assert_invalid_text(response, f"{spec.method} {url}")
        checked += 1
    assert checked >= 5
    # Valid percent-encoded UTF-8 is a name like any other: not found, not refused.
    fine = client.get(
        "/api/apps/avatar-creator/projects/%C3%A9t%C3%A9",
        headers={"Authorization": f"Bearer {tokens['user']}"},
    )
    assert fine.status_code == 404


def raw_request(client: TestClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send a request straight to the ASGI app: header bytes arrive as sent (the
    TestClient re-encodes them as UTF-8)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=client.app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as session:
            return await session.request(method, url, **kwargs)

    return asyncio.run(send())


def test_unreadable_authorization_and_idempotency_headers_are_400(shipped: Any) -> None:
    client, tokens = shipped
    for value in (b"Bearer \xff\xfe", b"Bearer a\xed\xa0\x80b", b"\xc3"):
        balance = raw_request(
            client, "GET", "/api/credits/balance", headers={"Authorization": value}
        )
        assert_invalid_text(balance, f"Authorization {value!r}")
    user_id, _ = account(client, "user")
    grant = {"userId": user_id, "amount": 5, "reason": "text test"}
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    for key in (b"\xff", b"k\xed\xa0\x80"):
        response = raw_request(
            client,
            "POST",
            "/api/admin/credits/grant",
            json=grant,
            headers={**admin, "Idempotency-Key": key},
        )
        assert_invalid_text(response, f"Idempotency-Key {key!r}")
    key = "clé-1".encode()  # UTF-8: a key like any other
    headers = {**admin, "Idempotency-Key": key}
    first = raw_request(client, "POST", "/api/admin/credits/grant", json=grant, headers=headers)
    assert first.status_code == 201, first.text
    again = raw_request(client, "POST", "/api/admin/credits/grant", json=grant, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
