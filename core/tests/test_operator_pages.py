"""Public health says up/degraded/down and nothing more; operator pages need an admin or the
metrics token; a soft dependency (Redis) down is degraded (200), not down (503)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku.db.tables import users
from lumiku.errors import ConfigurationError
from lumiku.plugins.discovery import discover
from lumiku.settings import load_settings
from lumiku.testing import OPERATOR_HEADERS, runtime_of, sign_up

OPERATOR_PATHS = ("/metrics", "/health/detailed", "/api/plugins")
PUBLIC_HEALTH = ("/health", "/health/liveness", "/health/readiness")


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return str(body["error"]["code"])


def make_admin(client: TestClient) -> dict[str, str]:
    admin = sign_up(client, "boss")
    with runtime_of(client).engine.begin() as connection:
        connection.execute(users.update().where(users.c.id == admin.user_id).values(role="admin"))
    return admin.headers


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_operator_pages_refuse_anonymous_users_and_bad_tokens(
    make_client: Callable[..., TestClient], path: str
) -> None:
    client = make_client()
    anonymous = client.get(path)
    assert (anonymous.status_code, error_code(anonymous)) == (401, "UNAUTHORIZED")
    assert "LUMIKU_METRICS_TOKEN" in anonymous.json()["error"]["message"]
    for header in ("Bearer not-the-token", "Basic b3BlcmF0b3I6eA==", "Bearer "):
        refused = client.get(path, headers={"Authorization": header})
        assert (refused.status_code, error_code(refused)) == (401, "UNAUTHORIZED"), header
    user = sign_up(client)
    forbidden = client.get(path, headers=user.headers)
    assert (forbidden.status_code, error_code(forbidden)) == (403, "FORBIDDEN")


@pytest.mark.parametrize("path", OPERATOR_PATHS)
def test_operator_pages_open_to_the_metrics_token_and_to_admins(
    make_client: Callable[..., TestClient], path: str
) -> None:
    client = make_client()
    assert client.get(path, headers=OPERATOR_HEADERS).status_code == 200
    assert client.get(path, headers=make_admin(client)).status_code == 200


def test_without_a_metrics_token_only_admins_get_in(make_client: Callable[..., TestClient]) -> None:
    client = make_client(LUMIKU_METRICS_TOKEN="")
    assert client.get("/metrics", headers=OPERATOR_HEADERS).status_code == 401
    assert client.get("/metrics", headers=make_admin(client)).status_code == 200


def test_public_health_says_one_word(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    # No Redis in test apps: a soft dependency missing is degraded, answered 200.
    assert client.get("/health").json() == {"status": "degraded"}
    assert client.get("/health/liveness").json() == {"status": "up"}
    assert client.get("/health/readiness").json() == {"status": "up"}
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()
    assert detailed["status"] == "degraded"
    assert detailed["checks"]["redis"]["status"] == "degraded"


def test_plugin_health_shows_checks_to_operators_only(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(discover())
    for path in ("/api/apps/avatar-creator/health", "/api/apps/pose-generator/health"):
        public = client.get(path).json()
        assert set(public) == {"plugin", "status", "state"}
        assert public["status"] in ("up", "degraded")
        detailed = client.get(path, headers=OPERATOR_HEADERS).json()
        assert {"checks", "reason", "reasonCode"} <= set(detailed)


def test_a_short_metrics_token_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"LUMIKU_METRICS_TOKEN": "short", "LUMIKU_CONFIG": "/nonexistent"})
    variables = {p["variable"] for p in caught.value.details["problems"]}
    assert "LUMIKU_METRICS_TOKEN" in variables


@pytest.mark.redis
def test_redis_with_a_password_url_never_shows_and_its_loss_is_degraded(
    make_client: Callable[..., TestClient],
    private_redis: Callable[..., Any],
    lumiku_env: dict[str, str],
) -> None:
    password = "QUERYPASSWORD-9Kd2"
    server = private_redis(password=password)
    url = f"redis://127.0.0.1:{server.port}/0?password={password}"
    client = make_client(discover(), REDIS_ENABLED="true", REDIS_URL=url)
    admin = make_admin(client)
    public = sign_up(client)
    paths = [
        *PUBLIC_HEALTH,
        *OPERATOR_PATHS,
        "/api/apps",
        "/openapi.json",
        "/api/apps/avatar-creator/health",
        "/api/apps/pose-generator/health",
        "/api/apps/payments-duitku/health",
        "/api/auth/profile",
    ]
    runtime = runtime_of(client)
    assert runtime.registry.redis_available

    def walk() -> list[str]:
        seen = []
        for path in paths:
            for headers in ({}, public.headers, admin, OPERATOR_HEADERS):
                response = client.get(path, headers=headers)
                # A failed plugin's health answers 503 (down); nothing else is a 5xx.
                assert response.status_code < 500 or path.endswith("health"), path
                text = response.text + str(response.headers)
                for needle in (
                    password,
                    f"127.0.0.1:{server.port}",
                    "redis://",
                    lumiku_env["LUMIKU_STORAGE_DIR"],
                    lumiku_env["DATABASE_URL"].split("://", 1)[1],
                    "Traceback",
                ):
                    assert needle not in text, (needle, path)
                seen.append(path)
        return seen

    assert walk()
    assert client.get("/health").json() == {"status": "up"}
    server.stop()
    app = client.app
    watch = app.state.watches.redis  # type: ignore[attr-defined]
    assert watch.check_now() is False
    time.sleep(2.1)  # past the public health cache
    health = client.get("/health")
    assert (health.status_code, health.json()) == (200, {"status": "degraded"})
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS)
    assert (detailed.status_code, detailed.json()["status"]) == (200, "degraded")
    assert walk()


def test_settings_in_the_detailed_page_name_no_location(
    make_client: Callable[..., TestClient], lumiku_env: dict[str, str]
) -> None:
    client = make_client()
    settings = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()["settings"]
    assert settings["database"] in ("sqlite", "postgresql")
    assert settings["redis"] == "disabled"
    assert "storageDir" not in settings
    text = str(settings)
    assert lumiku_env["LUMIKU_STORAGE_DIR"] not in text


def test_public_checks_run_at_most_once_per_ttl_and_never_queue() -> None:
    import threading

    from lumiku.health import CheckResult
    from lumiku.http.health_routes import CachedChecks

    runs: list[int] = []
    release = threading.Event()

    def slow() -> CheckResult:
        runs.append(1)
        if len(runs) > 1:
            release.wait(5)
        return CheckResult("ok")

    cached = CachedChecks({"db": slow}, ttl=0.0)
    assert cached.results()["db"].status == "ok"
    worker = threading.Thread(target=cached.results)
    worker.start()
    while len(runs) < 2:
        time.sleep(0.01)
    started = time.monotonic()
    assert cached.results()["db"].status == "ok"  # the previous result, not a wait
    assert time.monotonic() - started < 1
    release.set()
    worker.join()
    counted: list[int] = []

    def counting() -> CheckResult:
        counted.append(1)
        return CheckResult("ok")

    many = CachedChecks({"db": counting}, ttl=60)
    for _ in range(5):
        many.results()
    assert len(counted) == 1


def test_anonymous_plugin_health_probes_reuse_one_run_of_the_checks(
    make_client: Callable[..., TestClient],
) -> None:
    from lumiku.testing import define_plugin

    runs: list[int] = []

    def register_health_checks() -> dict[str, Any]:
        def counted() -> bool:
            runs.append(1)
            return True

        return {"counted": counted}

    client = make_client(
        [define_plugin("lkt_probed", register_health_checks=register_health_checks)]
    )
    for _ in range(10):
        assert client.get("/api/apps/lkt-probed/health").json()["status"] == "up"
    assert len(runs) == 1
    client.get("/api/apps/lkt-probed/health", headers=OPERATOR_HEADERS)
    assert len(runs) == 2  # operators always get a fresh run
