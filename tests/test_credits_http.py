"""The money path through HTTP: concurrent spends, idempotency keys, grants, limits."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import httpx
import pytest
import sqlalchemy as sa
from starlette.routing import BaseRoute

from lumiku import Call, PluginContext, PluginSpec, RateLimit, UploadedFile, field, hookimpl, post
from lumiku.ledger.tables import credit_entries
from lumiku.testing import OPERATOR_HEADERS
from lumiku.testing.server import serve_in_thread

PASSWORD = "amber-violin-7-quartz"


@attrs.frozen
class SpendBody:
    """How many credits to spend."""

    amount: int = 1
    note: str = ""


@attrs.frozen
class UploadForm:
    """A named picture."""

    name: str
    image: UploadedFile = field(max_bytes=1024)


@attrs.frozen
class SpendResult:
    """The balance after the spend."""

    balance: int


class SpenderHooks:
    """A test plugin with a charged route."""

    @hookimpl
    def register_routes(self, ctx: PluginContext) -> list[BaseRoute]:
        def spend(call: Call[SpendBody, None]) -> SpendResult:
            key = call.request.headers.get("idempotency-key") or uuid.uuid4().hex
            entry = ctx.ledger.spend(
                call.user_id,
                call.body.amount,
                "test spend",
                f"spender:{call.user_id}:{key}",
                plugin=ctx.id,
            )
            return SpendResult(entry.balance_after)

        def limited(call: Call[None, None]) -> dict[str, str]:
            return {"user": call.user_id}

        def upload(call: Call[UploadForm, None]) -> SpendResult:
            key = call.request.headers.get("idempotency-key") or uuid.uuid4().hex
            entry = ctx.ledger.spend(call.user_id, 1, "test upload", f"upload:{key}")
            return SpendResult(entry.balance_after)

        return [
            post(
                "/upload",
                upload,
                auth="user",
                form=UploadForm,
                idempotent=True,
                response=SpendResult,
            ),
            post(
                "/spend", spend, body=SpendBody, response=SpendResult, auth="user", idempotent=True
            ),
            post("/limited", limited, auth="user", rate_limits=(RateLimit("3/minute"),)),
        ]


SPENDER = PluginSpec(id="spender", hooks=SpenderHooks())  # type: ignore[arg-type]


def register(client: Any, email: str | None = None) -> str:
    email = email or f"u{uuid.uuid4().hex[:10]}@example.com"
    response = client.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def entries_sum(app: Any, user_token_owner: str) -> int:
    engine = app.state.runtime.engine
    with engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(credit_entries.c.amount), 0)).where(
                credit_entries.c.user_id == user_token_owner
            )
        ).scalar_one()
    return int(total)


@pytest.mark.postgres
def test_200_concurrent_spends_over_http_on_postgres(make_app: Any, postgres_url: str) -> None:
    app = make_app([SPENDER], DATABASE_URL=postgres_url)
    with serve_in_thread(app) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            token = register(client)
            user_id = client.get("/api/auth/profile", headers=bearer(token)).json()["user"]["id"]

        def spend(_: int) -> int:
            with httpx.Client(base_url=base, timeout=60) as c:
                return c.post("/api/apps/spender/spend", json={}, headers=bearer(token)).status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = Counter(pool.map(spend, range(200)))
        with httpx.Client(base_url=base, timeout=60) as client:
            balance = client.get("/api/credits/balance", headers=bearer(token)).json()
    assert statuses == {200: 100, 402: 100}
    assert balance == {"balance": 0, "held": 0, "available": 0}
    assert entries_sum(app, user_id) == 0  # +100 welcome, 100 x -1


def test_insufficient_credits_is_402_with_required_and_available(make_client: Any) -> None:
    client = make_client([SPENDER])
    token = register(client)
    response = client.post("/api/apps/spender/spend", json={"amount": 101}, headers=bearer(token))
    assert response.status_code == 402
    error = response.json()["error"]
    assert error["code"] == "INSUFFICIENT_CREDITS"
    assert error["details"] == {"required": 101, "available": 100}
    metrics = client.get("/metrics", headers=OPERATOR_HEADERS).text
    assert (
        'lumiku_credit_transactions_total{operation="spend",outcome="insufficient"} 1.0' in metrics
    )
    assert 'lumiku_credit_transactions_total{operation="grant",outcome="ok"} 1.0' in metrics


def test_idempotency_key_replays_the_first_response(make_client: Any) -> None:
    client = make_client([SPENDER])
    token = register(client)
    headers = {**bearer(token), "Idempotency-Key": "order-1"}
    first = client.post("/api/apps/spender/spend", json={"amount": 5}, headers=headers)
    again = client.post("/api/apps/spender/spend", json={"amount": 5}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"balance": 95}
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = client.post("/api/apps/spender/spend", json={"amount": 6}, headers=headers)
    assert other.status_code == 422
    assert client.get("/api/credits/balance", headers=bearer(token)).json()["balance"] == 95


def test_idempotency_key_replayed_concurrently_charges_once(make_app: Any) -> None:
    app = make_app([SPENDER])
    with serve_in_thread(app) as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            token = register(client)
        headers = {**bearer(token), "Idempotency-Key": "same-key"}

        def spend(_: int) -> int:
            with httpx.Client(base_url=base, timeout=60) as c:
                return c.post(
                    "/api/apps/spender/spend", json={"amount": 7}, headers=headers
                ).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = Counter(pool.map(spend, range(20)))
        with httpx.Client(base_url=base, timeout=60) as client:
            balance = client.get("/api/credits/balance", headers=bearer(token)).json()
    assert set(statuses) <= {200, 409}
    assert statuses[200] >= 1
    assert balance["balance"] == 93


def test_a_failed_charge_is_replayed_as_the_same_error(make_client: Any) -> None:
    client = make_client([SPENDER])
    token = register(client)
    headers = {**bearer(token), "Idempotency-Key": "too-much"}
    first = client.post("/api/apps/spender/spend", json={"amount": 500}, headers=headers)
    again = client.post("/api/apps/spender/spend", json={"amount": 500}, headers=headers)
    assert first.status_code == again.status_code == 402
    assert first.json() == again.json()


def test_rate_limit_answers_429_with_headers(make_client: Any) -> None:
    client = make_client([SPENDER])
    token = register(client)
    statuses = []
    for _ in range(4):
        response = client.post("/api/apps/spender/limited", headers=bearer(token))
        statuses.append(response.status_code)
    assert statuses == [200, 200, 200, 429]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in response.headers
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    other = register(client)
    assert client.post("/api/apps/spender/limited", headers=bearer(other)).status_code == 200


def test_balance_history_and_pagination(make_client: Any) -> None:
    client = make_client([SPENDER])
    token = register(client)
    for amount in (1, 2, 3):
        client.post("/api/apps/spender/spend", json={"amount": amount}, headers=bearer(token))
    assert client.get("/api/credits/balance", headers=bearer(token)).json() == {
        "balance": 94,
        "held": 0,
        "available": 94,
    }
    page = client.get("/api/credits/history?limit=2", headers=bearer(token)).json()
    assert [e["amount"] for e in page["entries"]] == [-3, -2]
    rest = client.get(
        "/api/credits/history",
        params={"limit": 2, "cursor": page["nextCursor"]},
        headers=bearer(token),
    ).json()
    assert [e["amount"] for e in rest["entries"]] == [-1, 100]
    assert rest["nextCursor"] is None
    assert client.get("/api/credits/history?limit=0", headers=bearer(token)).status_code == 422


def test_admin_grant_needs_the_admin_role(make_client: Any) -> None:
    client = make_client()
    runtime = client.app.state.runtime
    user_token = register(client)
    user_id = client.get("/api/auth/profile", headers=bearer(user_token)).json()["user"]["id"]
    body = {"userId": user_id, "amount": 50, "reason": "support gesture"}
    denied = client.post("/api/admin/credits/grant", json=body, headers=bearer(user_token))
    assert denied.status_code == 403
    runtime.auth.create_user("boss@example.com", PASSWORD, "admin")
    admin = client.post(
        "/api/auth/login", json={"email": "boss@example.com", "password": PASSWORD}
    ).json()["token"]
    headers = {**bearer(admin), "Idempotency-Key": "grant-1"}
    granted = client.post("/api/admin/credits/grant", json=body, headers=headers)
    replay = client.post("/api/admin/credits/grant", json=body, headers=headers)
    assert granted.status_code == replay.status_code == 201
    assert granted.json()["balance"]["balance"] == 150
    assert client.get("/api/credits/balance", headers=bearer(user_token)).json()["balance"] == 150
    unknown = client.post(
        "/api/admin/credits/grant",
        json={**body, "userId": "nobody"},
        headers={**bearer(admin), "Idempotency-Key": "grant-2"},
    )
    assert unknown.status_code == 404


def test_login_throttle_trips_over_http(make_client: Any) -> None:
    client = make_client()
    register(client, "victim@example.com")
    for _ in range(5):
        wrong = client.post(
            "/api/auth/login", json={"email": "victim@example.com", "password": "nope-nope-nope"}
        )
        assert wrong.status_code == 401
    blocked = client.post(
        "/api/auth/login", json={"email": "victim@example.com", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer not.a.jwt",
        # alg none, sub "x"
        "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.",
    ],
)
def test_bad_credentials_are_401_in_the_error_shape(make_client: Any, header: str | None) -> None:
    client = make_client()
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/credits/balance", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_password_change_revokes_older_tokens_over_http(make_client: Any) -> None:
    client = make_client()
    old = register(client, "mover@example.com")
    changed = client.put(
        "/api/auth/profile",
        json={"currentPassword": PASSWORD, "newPassword": "fresh-cobalt-42-lantern"},
        headers=bearer(old),
    )
    assert changed.status_code == 200
    new = changed.json()["token"]
    assert client.get("/api/auth/profile", headers=bearer(old)).status_code == 401
    assert client.get("/api/auth/profile", headers=bearer(new)).status_code == 200


def test_multipart_retry_with_a_new_boundary_is_the_same_request(make_client: Any) -> None:
    client = make_client([SPENDER])
    token = register(client)
    headers = {**bearer(token), "Idempotency-Key": "upload-1"}
    files = {"image": ("a.png", b"\x89PNG fake bytes", "image/png")}
    first = client.post(
        "/api/apps/spender/upload", files=files, data={"name": "x"}, headers=headers
    )
    again = client.post(
        "/api/apps/spender/upload", files=files, data={"name": "x"}, headers=headers
    )
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert client.get("/api/credits/balance", headers=bearer(token)).json()["balance"] == 99
    other = client.post(
        "/api/apps/spender/upload", files=files, data={"name": "y"}, headers=headers
    )
    assert other.status_code == 422


def test_a_grant_past_the_balance_ceiling_is_409(make_client: Any) -> None:
    client = make_client()
    runtime = client.app.state.runtime
    user_token = register(client)
    user_id = client.get("/api/auth/profile", headers=bearer(user_token)).json()["user"]["id"]
    runtime.ledger.grant(user_id, 10**9, "top", "top-0")
    with runtime.engine.begin() as conn:  # as after a thousand maximum grants
        conn.execute(
            sa.text("UPDATE credit_accounts SET balance = :full WHERE user_id = :user"),
            {"full": 10**12 - 10, "user": user_id},
        )
    runtime.auth.create_user("boss@example.com", PASSWORD, "admin")
    admin = client.post(
        "/api/auth/login", json={"email": "boss@example.com", "password": PASSWORD}
    ).json()["token"]
    body = {"userId": user_id, "amount": 11, "reason": "one too many"}
    over = client.post("/api/admin/credits/grant", json=body, headers=bearer(admin))
    assert over.status_code == 409, over.text
    error = over.json()["error"]
    assert error["code"] == "BALANCE_CEILING"
    assert error["details"]["room"] == 10
    fits = client.post(
        "/api/admin/credits/grant", json={**body, "amount": 10}, headers=bearer(admin)
    )
    assert fits.status_code == 201
    assert fits.json()["balance"]["balance"] == 10**12
