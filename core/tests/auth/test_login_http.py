"""Sign-in over HTTP: 429 with Retry-After, the owner gets in while guessed from elsewhere,
and two app instances sharing Redis agree on the counts (and after a restart)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku.testing import PASSWORD

OWNER = "198.51.100.7"
EMAIL = "owner@example.com"


def client_at(app: Any, ip: str) -> TestClient:
    return TestClient(app, client=(ip, 40000), raise_server_exceptions=False)


def login(client: TestClient, password: str, email: str = EMAIL) -> Any:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_guessing_gets_429_with_retry_after_and_the_owner_still_gets_in(
    make_app: Callable[..., Any],
) -> None:
    app = make_app([])
    with client_at(app, OWNER) as owner:
        created = owner.post("/api/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert created.status_code == 201
        assert login(owner, PASSWORD).status_code == 200  # the owner's address is familiar
    answers = []
    for n in range(12):
        with client_at(app, f"203.0.113.{n}") as attacker:
            answers.extend(login(attacker, "a wrong guess") for _ in range(2))
    codes = [answer.status_code for answer in answers]
    assert set(codes) == {401, 429}
    refused = answers[codes.index(429)]
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    with client_at(app, "203.0.113.200") as stranger:
        assert login(stranger, PASSWORD).status_code == 429  # an unfamiliar address waits
    with client_at(app, OWNER) as owner:
        assert login(owner, PASSWORD).status_code == 200


@pytest.mark.parametrize(
    "email", ["quac\u212a@example.com", "\uff4fwner@example.com", "owner\u0301@example.com"]
)
def test_lookalike_emails_are_refused_with_422(make_app: Callable[..., Any], email: str) -> None:
    with client_at(make_app([]), OWNER) as client:
        for path in ("/api/auth/register", "/api/auth/login"):
            answer = client.post(path, json={"email": email, "password": PASSWORD})
            assert answer.status_code == 422, (path, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "VALIDATION_ERROR"
            assert "email" in error["details"]["fields"]


@pytest.mark.redis
def test_two_instances_sharing_redis_agree(
    make_app: Callable[..., Any], private_redis: Callable[..., Any]
) -> None:
    server = private_redis()
    env = {"REDIS_ENABLED": "true", "REDIS_URL": server.url}
    first, second = make_app([], **env), make_app([], **env)
    with client_at(first, OWNER) as owner:
        owner.post("/api/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert login(owner, PASSWORD).status_code == 200
    attacker = "203.0.113.66"
    for app in (first, second, first, second, first):
        with client_at(app, attacker) as client:
            assert login(client, "a wrong guess").status_code == 401
    for app in (first, second):
        with client_at(app, attacker) as client:
            assert login(client, PASSWORD).status_code == 429  # the pair window is shared
        with client_at(app, OWNER) as client:
            assert login(client, PASSWORD).status_code == 200  # familiar on both nodes
    restarted = make_app([], **env)
    with client_at(restarted, attacker) as client:
        assert login(client, PASSWORD).status_code == 429  # and after a restart
