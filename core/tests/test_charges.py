"""Charged work through HTTP: a spend undone once on failure, and retries by attempt.

The plugin below charges 5 credits for ``POST /work`` and records the work in memory; its
behaviour is steered by the request body. Every test checks the user's balance and the
entries, which must explain it.
"""

from __future__ import annotations

import threading
import types
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku import Call, NotFound, PluginContext, PluginSpec, RateLimit, Reference, hookimpl, post
from lumiku.db.tables import idempotent_requests

PREFIX = "/api/apps/lkt-charged"
PASSWORD = "violet staple orchard kettle"


@attrs.frozen
class WorkBody:
    """What the test asks the route to do."""

    then: str = "succeed"


class Plugin:
    """The charged plugin's state: work done, and what to do inside the charge."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.next: list[str] = []  # what the next calls do instead of their body's "then"
        self.lock = threading.Lock()
        self.gate = threading.Event()
        self.gate.set()

    def spec(self) -> PluginSpec:
        def register_routes(ctx: PluginContext) -> list[Any]:
            def work(call: Call[WorkBody, None]) -> dict[str, Any]:
                thing = call.request_key.stable_id("thing")
                with ctx.charges.spend(
                    call, "work", reason="Work", reference=Reference("thing", thing)
                ) as charge:
                    self.gate.wait(10)
                    then = self.next.pop(0) if self.next else call.body.then
                    if then == "fail":
                        raise RuntimeError("the work broke")
                    if then == "not-found":
                        raise NotFound("The thing is gone.")
                    with self.lock:
                        if thing not in self.done:  # a retry finds what its try made
                            self.done.append(thing)
                if then == "crash-after-the-work":
                    raise RuntimeError("the process dies before it answers")
                return {"thing": thing, "charged": charge.amount}

            declared = {"auth": "user", "body": WorkBody, "idempotent": True, "errors": (402,)}
            return [
                post("/work", work, **declared),
                post("/limited", work, rate_limits=(RateLimit("3/minute"),), **declared),
            ]

        hooks = types.SimpleNamespace(register_routes=hookimpl(register_routes))
        return PluginSpec(id="lkt_charged", credits={"work": 5}, hooks=hooks)  # type: ignore[arg-type]


@pytest.fixture
def plugin() -> Plugin:
    """Return the plugin's state."""
    return Plugin()


@pytest.fixture
def client(make_client: Callable[..., TestClient], plugin: Plugin) -> TestClient:
    """Return a client on an app with the charged plugin."""
    client: TestClient = make_client([plugin.spec()])
    return client


def _user(client: TestClient) -> dict[str, str]:
    response = client.post(
        "/api/auth/register",
        json={"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _work(client: TestClient, auth: dict[str, str], key: str | None, then: str = "succeed") -> Any:
    headers = {**auth, **({"Idempotency-Key": key} if key else {})}
    return client.post(f"{PREFIX}/work", json={"then": then}, headers=headers)


def _credits(client: TestClient, auth: dict[str, str]) -> tuple[int, list[tuple[str, int]]]:
    balance = client.get("/api/credits/balance", headers=auth).json()["balance"]
    entries = client.get("/api/credits/history", headers=auth).json()["entries"]
    history = [(entry["kind"], entry["amount"]) for entry in reversed(entries)]
    assert balance == sum(amount for _, amount in history)  # the entries explain the balance
    return balance, history


def test_a_charge_is_taken_for_work_that_succeeds(client: TestClient, plugin: Plugin) -> None:
    auth = _user(client)
    response = _work(client, auth, "k1")
    assert response.json()["charged"] == 5
    assert _credits(client, auth) == (95, [("welcome", 100), ("spend", -5)])
    assert _work(client, auth, "k1").headers["Idempotent-Replayed"] == "true"
    assert len(plugin.done) == 1


def test_work_that_fails_is_refunded_once_and_its_retry_charged_once(
    client: TestClient, plugin: Plugin
) -> None:
    auth = _user(client)
    plugin.next = ["fail"]
    assert _work(client, auth, "k2").status_code == 500
    assert _credits(client, auth)[0] == 100
    retried = _work(client, auth, "k2")
    assert retried.status_code == 200
    balance, history = _credits(client, auth)
    assert balance == 95
    assert history == [("welcome", 100), ("spend", -5), ("refund", 5), ("spend", -5)]
    assert len(plugin.done) == 1


def test_a_domain_error_after_the_charge_is_refunded_and_is_the_keys_answer(
    client: TestClient,
) -> None:
    auth = _user(client)
    assert _work(client, auth, "k3", then="not-found").status_code == 404
    replay = _work(client, auth, "k3", then="not-found")
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (404, "true")
    assert _credits(client, auth)[0] == 100


def test_a_retry_after_a_crash_is_never_charged_twice(
    client: TestClient, plugin: Plugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = _user(client)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    # The first request did its work and was charged, then its process died before it
    # answered: nothing ran after that, so its reservation was never freed.
    monkeypatch.setattr(runtime.idempotency, "release", lambda key: False)
    plugin.next = ["crash-after-the-work"]
    assert _work(client, auth, "k4").status_code == 500
    monkeypatch.undo()
    assert _work(client, auth, "k4").status_code == 409  # its lease still holds the key
    with runtime.engine.begin() as connection:
        connection.execute(
            idempotent_requests.update()
            .where(idempotent_requests.c.key == "k4")
            .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    retried = _work(client, auth, "k4")
    assert retried.status_code == 200
    assert _credits(client, auth) == (95, [("welcome", 100), ("spend", -5)])
    assert plugin.done == [retried.json()["thing"]]


def test_a_refund_that_fails_leaves_the_attempt_so_the_retry_replays_the_charge(
    client: TestClient, plugin: Plugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = _user(client)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]

    def broken(key: str) -> Any:
        raise sa.exc.OperationalError("refund", {}, Exception("the database went away"))

    monkeypatch.setattr(runtime.ledger, "refund", broken)
    plugin.next = ["fail"]
    assert _work(client, auth, "k5").status_code == 500
    assert _credits(client, auth)[0] == 95  # the spend stands: its refund failed
    monkeypatch.undo()
    assert _work(client, auth, "k5").status_code == 200
    assert _credits(client, auth) == (95, [("welcome", 100), ("spend", -5)])


def test_two_concurrent_requests_with_one_key_do_the_work_once(
    client: TestClient, plugin: Plugin
) -> None:
    auth = _user(client)
    plugin.gate.clear()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(_work, client, auth, "k6")
        second = pool.submit(_work, client, auth, "k6")
        codes = set()
        while not codes:  # whichever came second is refused while the first waits
            for future in (first, second):
                if future.done():
                    codes.add(future.result().status_code)
        plugin.gate.set()
        results = sorted([first.result().status_code, second.result().status_code])
    assert results == [200, 409]
    assert len(plugin.done) == 1
    assert _credits(client, auth)[0] == 95


def test_a_charge_the_user_cannot_afford_is_402_and_does_no_work(
    client: TestClient, plugin: Plugin
) -> None:
    auth = _user(client)
    for index in range(20):
        assert _work(client, auth, f"k7-{index}").status_code == 200
    refused = _work(client, auth, "k7-last")
    assert refused.status_code == 402
    assert refused.json()["error"]["details"] == {"required": 5, "available": 0}
    assert len(plugin.done) == 20


def test_a_replay_is_answered_before_the_rate_limit_is_counted(client: TestClient) -> None:
    auth = _user(client)

    def limited(key: str) -> Any:
        headers = {**auth, "Idempotency-Key": key}
        return client.post(f"{PREFIX}/limited", json={"then": "succeed"}, headers=headers)

    first = limited("k8")
    replays = [limited("k8") for _ in range(5)]  # past the 3 a minute
    assert first.status_code == 200
    assert [r.status_code for r in replays] == [200] * 5
    assert all(r.headers["Idempotent-Replayed"] == "true" for r in replays)
    assert [limited(f"k8-{n}").status_code for n in range(3)] == [200, 200, 429]
