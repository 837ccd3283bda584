"""define_plugin: an in-memory plugin whose hooks are plain functions."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku import Call, PluginContext, get, soft
from lumiku.testing import OPERATOR_HEADERS, define_plugin


def hello_routes(ctx: PluginContext) -> list[Any]:
    def hello(_call: Call[None, None]) -> dict[str, Any]:
        return {"plugin": ctx.id, "costs": dict(ctx.credits)}

    return [get("/hello", hello)]


def test_a_defined_plugin_is_served_like_an_installed_one(make_client: Any) -> None:
    client: TestClient = make_client(
        [
            define_plugin("lkt_one", credits={"hello": 3}, register_routes=hello_routes),
            define_plugin("lkt_two", route_prefix="/api/two", register_routes=hello_routes),
        ],
        LKT_ONE_CREDITS_HELLO="5",
    )

    assert client.get("/api/apps/lkt-one/hello").json() == {
        "plugin": "lkt_one",
        "costs": {"hello": 5},
    }
    assert client.get("/api/two/hello").json()["plugin"] == "lkt_two"  # the same function
    states = {
        p["id"]: p["state"]
        for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    assert states == {"lkt_one": "running", "lkt_two": "running"}


def test_its_requirements_are_evaluated(make_client: Any) -> None:
    client = make_client([define_plugin("lkt_soft", requires=[soft("redis")])])

    [plugin] = client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    assert plugin["state"] == "degraded"


def test_a_name_that_is_not_a_hook_is_refused() -> None:
    with pytest.raises(TypeError, match=r"register_route are not hooks.*register_routes"):
        define_plugin("lkt_typo", register_route=hello_routes)
