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
    answers: list[Any] = []
    for n in range(22):  # a botnet: 110 guesses, 5 from each address
        with client_at(app, f"203.0.113.{n}") as attacker:
            answers.extend(login(attacker, "a wrong guess") for _ in range(5))
    codes = [answer.status_code for answer in answers]
    assert set(codes) == {401, 429}
    assert codes.count(401) == 100
    refused = answers[codes.index(429)]
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(refused.headers["Retry-After"]) <= 900
    with client_at(app, "203.0.113.200") as stranger:
        assert login(stranger, PASSWORD).status_code == 429  # an unfamiliar address waits
    with client_at(app, OWNER) as owner:
        assert login(owner, PASSWORD).status_code == 200  # signed up there: familiar


def forwarded(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


def test_a_third_party_cannot_lock_out_the_address_the_owner_signed_up_from(
    make_app: Callable[..., Any],
) -> None:
    """The reviewer's reproduction, behind the (trusted, loopback) proxy."""
    app = make_app([])
    with client_at(app, "127.0.0.1") as proxy:
        body = {"email": EMAIL, "password": PASSWORD}
        created = proxy.post("/api/auth/register", json=body, headers=forwarded("192.0.2.50"))
        assert created.status_code == 201
        for n in range(1, 13):
            wrong = {"email": EMAIL, "password": "a wrong guess"}
            answer = proxy.post("/api/auth/login", json=wrong, headers=forwarded(f"198.18.0.{n}"))
            assert answer.status_code == 401
        for ip in ("192.0.2.50", "192.0.2.51"):  # where they signed up, and somewhere new
            answer = proxy.post("/api/auth/login", json=body, headers=forwarded(ip))
            assert answer.status_code == 200, (ip, answer.text)


def test_the_address_of_a_password_change_becomes_familiar(
    make_app: Callable[..., Any],
) -> None:
    app = make_app([])
    with client_at(app, OWNER) as owner:
        token = owner.post(
            "/api/auth/register", json={"email": EMAIL, "password": PASSWORD}
        ).json()["token"]
    new_password = PASSWORD + " again"
    with client_at(app, "192.0.2.77") as laptop:
        changed = laptop.put(
            "/api/auth/profile",
            json={"currentPassword": PASSWORD, "newPassword": new_password},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert changed.status_code == 200, changed.text
    for n in range(22):
        with client_at(app, f"203.0.113.{n}") as attacker:
            for _ in range(5):
                login(attacker, "a wrong guess")
    with client_at(app, "203.0.113.200") as stranger:
        assert login(stranger, new_password).status_code == 429
    with client_at(app, "192.0.2.77") as laptop:
        assert login(laptop, new_password).status_code == 200


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
