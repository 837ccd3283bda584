"""The reviewer's reproduction: a repeated ``amount`` on the admin grant route granted the
last value silently; now the body is refused and nothing is granted."""

from __future__ import annotations

from collections.abc import Callable

from starlette.testclient import TestClient

from lumiku.db.tables import users
from lumiku.testing import runtime_of, sign_up


def test_a_grant_with_amount_sent_twice_is_refused_and_grants_nothing(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    admin = sign_up(client, "boss")
    with runtime_of(client).engine.begin() as connection:
        connection.execute(users.update().where(users.c.id == admin.user_id).values(role="admin"))
    user = sign_up(client)
    before = user.balance()["balance"]
    raw = f'{{"userId": "{user.user_id}", "amount": 1, "amount": 1000000}}'.encode()
    response = client.post(
        "/api/admin/credits/grant",
        content=raw,
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("DUPLICATE_KEY", {"key": "amount"})
    assert user.balance()["balance"] == before
