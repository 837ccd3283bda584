"""The kit's client fixtures and signed-in users."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku import Call, PluginContext, get
from lumiku.testing import OPERATOR_HEADERS, PASSWORD, SignedInUser, define_plugin, sign_up


def whoami_routes(ctx: PluginContext) -> list[Any]:
    def whoami(call: Call[None, None]) -> dict[str, Any]:
        return {"user": call.user_id, "plugin": ctx.id}

    return [get("/whoami", whoami, auth="user")]


WHOAMI = define_plugin("lkt_whoami", register_routes=whoami_routes)


@pytest.fixture
def lumiku_plugins() -> list[Any]:
    """These tests' api_client runs the whoami plugin."""
    return [WHOAMI]


def test_the_api_client_runs_the_plugins_of_lumiku_plugins(api_client: TestClient) -> None:
    plugins = api_client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    assert [(p["id"], p["state"]) for p in plugins] == [("lkt_whoami", "running")]


def test_a_signed_in_user_sends_its_token(
    api_client: TestClient, signed_in_user: SignedInUser
) -> None:
    api = signed_in_user.at(WHOAMI.prefix)

    assert api.get("/whoami").json() == {"user": signed_in_user.user_id, "plugin": "lkt_whoami"}
    assert api_client.get(WHOAMI.prefix + "/whoami").status_code == 401  # without the token
    assert signed_in_user.balance() == {"balance": 100, "held": 0, "available": 100}
    assert [entry["kind"] for entry in signed_in_user.history()] == ["welcome"]
    assert signed_in_user.get("/api/auth/profile").json()["user"]["email"] == signed_in_user.email


def test_headers_add_to_the_token_or_replace_it(signed_in_user: SignedInUser) -> None:
    api = signed_in_user.at(WHOAMI.prefix)

    assert api.get("/whoami", headers={"X-Trace": "1"}).status_code == 200
    assert api.get("/whoami", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_sign_up_makes_other_users_who_can_sign_in(api_client: TestClient) -> None:
    ana, bob = sign_up(api_client, "ana"), sign_up(api_client, "bob")

    assert ana.user_id != bob.user_id
    assert ana.email.startswith("ana-")
    login = api_client.post("/api/auth/login", json={"email": bob.email, "password": PASSWORD})
    assert login.status_code == 200
