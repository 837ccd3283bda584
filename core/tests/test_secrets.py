"""Secrets never appear in introspection, health pages, metrics, the CLI or the logs.

Every secret is set to a recognizable value; then everything an operator or a client can
read is searched for it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from starlette.testclient import TestClient

from lumiku import PluginSpec, hookimpl
from lumiku.plugins.discovery import discover
from lumiku.testing import OPERATOR_HEADERS
from lumiku.testing.pytest_plugin import test_backend

JWT_SECRET = "JWTSECRET-q8Zt2Lm5Xv9Rk3Wp7Yc1Nb4Hd6"
REDIS_PASSWORD = "REDISPASSWORD-7Hq2Zk"
DUITKU_API_KEY = "DUITKUAPIKEY-4Fm9Qs"
HUGGINGFACE_API_KEY = "hf_HUGGINGFACEKEY-2Lx8Vt"
PG_PASSWORD = "PGPASSWORD-5Wn3Jr"
PLUGIN_TOKEN = "PLUGINTOKEN-8Rt6Ye"
SECRETS = (
    JWT_SECRET,
    REDIS_PASSWORD,
    DUITKU_API_KEY,
    HUGGINGFACE_API_KEY,
    PG_PASSWORD,
    PLUGIN_TOKEN,
)
PUBLIC_PATHS = (
    "/api/plugins",
    "/api/apps",
    "/health",
    "/health/detailed",
    "/health/readiness",
    "/openapi.json",
    "/metrics",
    "/api/apps/avatar-creator/health",
    "/api/apps/pose-generator/health",
    "/api/payments/health",
    "/api/apps/lkt-vault/health",
)


OPERATOR_PATHS = ("/api/plugins", "/health/detailed", "/metrics")


def assert_no_locations(text: str, env: dict[str, str], where: str) -> None:
    """Assert ``text`` names no URL, path or host:port of a dependency."""
    redis_address = f"127.0.0.1:{env['REDIS_PORT']}"
    for needle in (
        env["LUMIKU_STORAGE_DIR"],
        env["DATABASE_URL"].split("://", 1)[1].split("?")[0],
        redis_address,
        "redis://",
        "postgresql",
        "sqlite:",
        "Traceback",
    ):
        if needle == "postgresql" and where in ("/health/detailed", "/metrics"):
            continue  # the backend's name, not its address
        assert needle not in text, f"{needle!r} shown by {where}"


@attrs.frozen
class VaultSettings:
    """A plugin setting that is a credential."""

    api_token: str = attrs.field(repr=False)


def vault_checks(ctx: Any) -> dict[str, Any]:
    return {"token": lambda: bool(ctx.settings.api_token)}


VAULT = PluginSpec(
    id="lkt_vault",
    settings=VaultSettings,
    hooks=type("VaultHooks", (), {"register_health_checks": staticmethod(hookimpl(vault_checks))}),  # type: ignore[arg-type]
)


def with_password(url: str, password: str) -> str:
    """Return the PostgreSQL ``url`` with ``password`` (trust authentication ignores it)."""
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user.split(':')[0]}:{password}@{host}"


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked in {where}"
    # URL-encoded forms too (the Redis URL is built with quote()).
    assert "REDISPASSWORD" not in text, where


@pytest.mark.redis
def test_no_secret_reaches_an_operator_or_a_client(
    make_app: Callable[..., Any],
    lumiku_env: dict[str, str],
    database_url: str,  # created now: the app reaches it under another URL, with a password
    private_redis: Callable[..., Any],
    run_cli: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    server = private_redis(password=REDIS_PASSWORD)
    database_url = lumiku_env["DATABASE_URL"]
    if test_backend() == "postgresql":
        database_url = with_password(database_url, PG_PASSWORD)
    env = {
        **lumiku_env,
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "REDIS_ENABLED": "true",
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(server.port),
        "REDIS_PASSWORD": REDIS_PASSWORD,
        "DUITKU_MERCHANT_CODE": "D0001",
        "DUITKU_API_KEY": DUITKU_API_KEY,
        "HUGGINGFACE_API_KEY": HUGGINGFACE_API_KEY,
        "LKT_VAULT_API_TOKEN": PLUGIN_TOKEN,
    }
    app = make_app([*discover(), VAULT], **env)
    with TestClient(app, raise_server_exceptions=False) as client:
        states = {
            p["id"]: p["state"]
            for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
        }
        assert states["payments_duitku"] == "running"
        assert states["lkt_vault"] == "running"
        assert (
            client.get("/health/detailed", headers=OPERATOR_HEADERS).json()["checks"]["redis"][
                "status"
            ]
            == "ok"
        )
        for path in PUBLIC_PATHS:
            for headers in ({}, OPERATOR_HEADERS):
                response = client.get(path, headers=headers)
                expected = (401,) if path in OPERATOR_PATHS and not headers else (200, 503)
                assert response.status_code in expected, (path, response.text)
                assert_clean(response.text + str(response.headers), path)
                assert_no_locations(response.text, env, path)
        # Errors too: a bad token, a malformed body.
        for response in (
            client.get("/api/auth/profile", headers={"Authorization": f"Bearer {JWT_SECRET}"}),
            client.post("/api/auth/login", content=b"{" + JWT_SECRET.encode()),
        ):
            assert response.status_code in (400, 401)
            assert_clean(response.text, "error body")

    for argv in (
        ("doctor",),
        ("plugins", "list"),
        ("plugins", "list", "--json"),
        ("plugins", "info", "payments_duitku", "--json"),
        ("migrate", "status"),
    ):
        result = run_cli(env, *argv)
        assert result.code == 0, (argv, result.out, result.err)
        assert_clean(result.out + result.err, " ".join(argv))
    assert "✅ Redis answering (redis://:***@127.0.0.1:" in run_cli(env, "doctor").out
    assert caplog.records
    assert_clean(caplog.text, "logs")


def test_an_unreachable_database_url_is_reported_without_its_password(
    make_app: Callable[..., Any],
    lumiku_env: dict[str, str],
    run_cli: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from lumiku.testing.server import free_port

    caplog.set_level(logging.DEBUG)
    url = f"postgresql://lumiku:{PG_PASSWORD}@127.0.0.1:{free_port()}/lumiku"
    env = {**lumiku_env, "DATABASE_URL": url, "LUMIKU_PLUGINS": ""}
    doctor = run_cli(env, "doctor")
    assert doctor.code == 1
    # The check /health/detailed runs, in the same words (the log has the exception).
    assert "❌ database not reachable: failed (OperationalError)" in doctor.out
    assert_clean(doctor.out + doctor.err, "doctor")

    from lumiku.testing.app import build_test_app

    app = build_test_app(env, plugins=[], migrate_database=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/health/liveness").json() == {"status": "up"}
        health = client.get("/health")
        assert (health.status_code, health.json()) == (503, {"status": "down"})
        readiness = client.get("/health/readiness")
        assert (readiness.status_code, readiness.json()) == (503, {"status": "down"})
        detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS)
        assert detailed.status_code == 503
        assert detailed.json()["settings"]["database"] == "postgresql"
        database = detailed.json()["checks"]["database"]
        assert database["detail"] == "failed (OperationalError); the server log has why"
        for response in (health, readiness, detailed):
            assert_clean(response.text, response.url.path)
            assert "127.0.0.1" not in response.text
    assert_clean(caplog.text, "logs")
