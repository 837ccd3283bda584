"""Each route's decodes are counted to its caller: the signed-in user, else the client
address, in sync and async handlers alike (the decoding budget's per-caller share)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.testclient import TestClient

from lumiku import Call, get
from lumiku.storage.decoding import current_decoding_owner
from lumiku.testing import sign_up

from .conftest import plugin_of


def owner_routes(ctx: Any) -> list[Any]:
    def sync_owner(call: Call[None, None]) -> dict[str, Any]:
        """Name the decoding owner."""
        return {"owner": current_decoding_owner()}

    async def async_owner(call: Call[None, None]) -> dict[str, Any]:
        """Name the decoding owner."""
        return {"owner": current_decoding_owner()}

    return [
        get("/sync", sync_owner),
        get("/async", async_owner),
        get("/me", sync_owner, auth="user"),
    ]


def test_the_decoding_owner_is_the_user_else_the_client_address(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client([plugin_of("lkt_owner", owner_routes)])
    base = "/api/apps/lkt-owner"
    for path in ("/sync", "/async"):
        response = client.get(base + path)
        assert response.status_code == 200, response.text
        assert response.json() == {"owner": "address:testclient"}
    user = sign_up(client)
    mine = client.get(base + "/me", headers={"Authorization": f"Bearer {user.token}"})
    assert mine.json() == {"owner": f"user:{user.user_id}"}
    assert current_decoding_owner() is None  # nothing leaks out of a request
