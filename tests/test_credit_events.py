"""Public credit events and admin findings: a real Socket.IO client on ``/credits`` sees its
balance change when an admin grants credits, only its own; ``GET
/api/admin/credits/findings`` lists what reconciliation stored, to admins only."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import sqlalchemy as sa

from lumiku.ledger.tables import credit_accounts
from lumiku.testing import listening, runtime_of, serve_in_thread

NS = "/credits"
PASSWORD = "amber-violin-7-quartz"


def _sign_up(http: httpx.Client, email: str) -> tuple[str, str]:
    answer = http.post("/api/auth/register", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    body = answer.json()
    return body["user"]["id"], body["token"]


def _admin_token(app: Any) -> str:
    auth = runtime_of(app).auth
    auth.create_user("admin@example.com", PASSWORD, "admin")
    _user, token = auth.login("admin@example.com", PASSWORD, None)
    return str(token.token)


def test_a_grant_reaches_the_owners_credits_socket_and_nobody_elses(make_app: Any) -> None:
    app = make_app([], LUMIKU_WELCOME_CREDITS="10")
    admin = {"Authorization": f"Bearer {_admin_token(app)}"}
    with (
        serve_in_thread(app.state.realtime.wrap(app)) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        user_id, token = _sign_up(http, "owner@example.com")
        _other_id, other_token = _sign_up(http, "other@example.com")
        with listening(url, token, NS) as mine, listening(url, other_token, NS) as theirs:
            granted = http.post(
                "/api/admin/credits/grant",
                json={"userId": user_id, "amount": 25, "reason": "support"},
                headers={**admin, "Idempotency-Key": "grant-1"},
            )
            assert granted.status_code == 201, granted.text
            event, data = mine.get(timeout=15)
        assert theirs.empty()
    assert event == "credits:balance"
    assert data == {"balance": 35, "held": 0, "available": 35}


def test_credits_refuses_a_socket_without_a_token(make_app: Any) -> None:
    import socketio

    app = make_app([])
    with serve_in_thread(app.state.realtime.wrap(app)) as url:

        async def attempt() -> str:
            client = socketio.AsyncClient(reconnection=False)
            try:
                await client.connect(url, namespaces=[NS], transports=["websocket"], wait_timeout=5)
            except socketio.exceptions.ConnectionError as exc:
                return str(exc)
            await client.disconnect()
            return "connected"

        assert asyncio.run(attempt()) != "connected"


def test_findings_are_listed_newest_first_to_admins_only(make_client: Any) -> None:
    client = make_client([], LUMIKU_WELCOME_CREDITS="10")
    runtime = runtime_of(client.app)
    admin = {"Authorization": f"Bearer {_admin_token(client.app)}"}
    registered = client.post(
        "/api/auth/register", json={"email": "u@example.com", "password": PASSWORD}
    )
    user_id, token = registered.json()["user"]["id"], registered.json()["token"]

    empty = client.get("/api/admin/credits/findings", headers=admin)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"findings": [], "nextCursor": None}

    with runtime.engine.begin() as connection:  # a balance changed behind the ledger's back
        connection.execute(
            sa.update(credit_accounts)
            .where(credit_accounts.c.user_id == user_id)
            .values(balance=credit_accounts.c.balance + 5)
        )
    runtime.ledger.reconcile()
    runtime.ledger.reconcile()

    first = client.get("/api/admin/credits/findings", params={"limit": 1}, headers=admin)
    assert first.status_code == 200, first.text
    [newest] = first.json()["findings"]
    assert newest["userId"] == user_id
    assert (newest["source"], newest["kind"], newest["difference"]) == (
        "ledger",
        "balance_mismatch",
        5,
    )
    older = client.get(
        "/api/admin/credits/findings",
        params={"limit": 1, "cursor": first.json()["nextCursor"]},
        headers=admin,
    )
    assert [f["runId"] for f in older.json()["findings"]] != [newest["runId"]]

    mine = client.get("/api/admin/credits/findings", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 403
    assert mine.json()["error"]["code"] == "FORBIDDEN"
    assert client.get("/api/admin/credits/findings").status_code == 401
    bad = client.get("/api/admin/credits/findings", params={"cursor": "nope"}, headers=admin)
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "INVALID_CURSOR"
