"""Request bodies held at once are bounded per process and per client (503 SERVER_BUSY)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from lumiku import errors
from lumiku.http.body_budget import BodyBudget
from lumiku.testing.app import runtime_of


def test_bodies_wait_for_the_budget_then_get_it() -> None:
    budget = BodyBudget(100, per_client=60, wait=2, poll=0.01)

    async def scenario() -> list[str]:
        order: list[str] = []

        async def body(name: str, size: int, client: str, hold_for: float) -> None:
            async with budget.hold(size, client):
                order.append(f"{name} in")
                await asyncio.sleep(hold_for)
            order.append(f"{name} out")

        await asyncio.gather(
            body("a", 60, "u1", 0.2),
            body("b", 40, "u2", 0.2),
            body("c", 30, "u3", 0.0),  # waits: 100 bytes are held
        )
        return order

    order = asyncio.run(scenario())
    assert order.index("c in") > min(order.index("a out"), order.index("b out"))
    assert budget.in_flight == 0


def test_one_client_cannot_take_more_than_its_share() -> None:
    budget = BodyBudget(100, per_client=50, wait=0.1, poll=0.01)

    async def scenario() -> None:
        async with budget.hold(50, "greedy"):
            with pytest.raises(errors.ServerBusy) as caught:
                async with budget.hold(10, "greedy"):
                    pass
            assert caught.value.retry_after == 1
            async with budget.hold(50, "other"):  # others still get theirs
                assert budget.in_flight == 100

    asyncio.run(scenario())
    assert budget.in_flight == 0


def test_a_full_budget_is_503_server_busy_with_retry_after(
    make_app: Callable[..., Starlette],
) -> None:
    app = make_app()
    services = runtime_of(app).endpoints
    services.bodies = BodyBudget(2 * 1024 * 1024, per_client=2 * 1024 * 1024, wait=0.2)
    with TestClient(app) as client:
        assert services.bodies._take(2 * 1024 * 1024, "someone else")  # the budget is full
        response = client.post("/api/auth/login", json={"email": "a@example.test", "password": "x"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"]["code"] == "SERVER_BUSY"
        services.bodies._give(2 * 1024 * 1024, "someone else")
        response = client.post("/api/auth/login", json={"email": "a@example.test", "password": "x"})
        assert response.status_code != 503
    assert services.bodies.in_flight == 0


def test_budget_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="at least"):
        BodyBudget(0)
