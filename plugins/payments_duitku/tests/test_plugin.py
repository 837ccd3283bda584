"""The plugin is discovered and running when configured; without its merchant code and key
it is disabled naming both (a startup error in production); the key is never shown."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku.errors import ConfigurationError
from lumiku.plugins.discovery import discover
from lumiku.testing import OPERATOR_HEADERS
from lumiku_payments_duitku.plugin import spec

KEY = "k3y-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PRODUCTION = {
    "LUMIKU_ENV": "production",
    "LUMIKU_PUBLIC_URL": "https://api.lumiku.id",
    "CORS_ORIGIN": "https://app.lumiku.id",
    "REDIS_ENABLED": "false",
    "JWT_SECRET": "Zq8#vN2$wLp5@kRt9^mXy3&bHc7!dFg4",
}


def test_is_discovered_through_its_entry_point() -> None:
    found = {candidate.name: candidate for candidate in discover()}
    assert found["payments_duitku"].load() is spec


def test_is_discovered_and_running_when_configured(shop: Any) -> None:
    plugins = {
        p["id"]: p
        for p in shop.http.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    record = plugins["payments_duitku"]
    assert (record["state"], record["routePrefix"]) == ("running", "/api/payments")
    assert {
        "GET /api/payments/packages",
        "POST /api/payments",
        "GET /api/payments",
        "GET /api/payments/{merchant_order_id}",
        "POST /api/payments/callback",
    } <= set(record["routes"])
    health = shop.http.get("/api/payments/health", headers=OPERATOR_HEADERS).json()
    check = health["checks"]["duitku"]
    assert (check["status"], check["detail"]) == ("ok", "Duitku sandbox")


def test_without_merchant_code_and_key_it_is_disabled_naming_both(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client([spec])
    record = {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }["payments_duitku"]
    assert (record["state"], record["reasonCode"]) == ("disabled", "missing_config")
    assert record["reason"] == "DUITKU_MERCHANT_CODE and DUITKU_API_KEY are not set"
    assert client.post("/api/payments/callback").status_code == 404  # not mounted


def test_in_production_a_missing_configuration_stops_the_startup(
    make_app: Callable[..., Any],
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_app([spec], **PRODUCTION, DUITKU_MERCHANT_CODE="DS123")
    message = raised.value.message
    assert "DUITKU_API_KEY is not set" in message
    assert "DUITKU_CALLBACK_URL: is required in production" in message
    assert "DUITKU_RETURN_URL: is required in production" in message
    assert "DUITKU_ENV: is sandbox in production" in message


def test_bad_numbers_and_the_rules_are_reported_in_one_message_in_words(
    make_app: Callable[..., Any],
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_app(
            [spec],
            **PRODUCTION,
            DUITKU_EXPIRY_MINUTES="an hour",
            DUITKU_READ_TIMEOUT="fast",
            DUITKU_POLL_EVERY="1.5",
        )
    message = raised.value.message
    assert "DUITKU_MERCHANT_CODE and DUITKU_API_KEY are not set" in message
    assert "DUITKU_EXPIRY_MINUTES: expected a whole number, got 'an hour'" in message
    assert "DUITKU_READ_TIMEOUT: expected a number, got 'fast'" in message
    assert "DUITKU_POLL_EVERY: expected a whole number, got '1.5'" in message
    assert "DUITKU_CALLBACK_URL: is required in production" in message  # checked all the same
    assert "invalid literal" not in message
    assert "could not convert" not in message


def test_in_production_a_complete_configuration_runs(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(
        [spec],
        **PRODUCTION,
        DUITKU_MERCHANT_CODE="DS12345",
        DUITKU_API_KEY=KEY,
        DUITKU_ENV="production",
        DUITKU_CALLBACK_URL="https://api.lumiku.id/api/payments/callback",
        DUITKU_RETURN_URL="https://app.lumiku.id/payments/done",
    )
    record = {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }["payments_duitku"]
    assert record["state"] == "running"


def test_the_key_never_appears_in_plugins_health_errors_or_logs(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(
        [spec],
        DUITKU_MERCHANT_CODE="DS12345",
        DUITKU_API_KEY=KEY,
        DUITKU_BASE_URL="http://127.0.0.1:9/webapi/api/merchant",  # nothing listens there
        DUITKU_PACKAGES="not json",
    )
    bad = client.get("/api/plugins", headers=OPERATOR_HEADERS).text
    assert "DUITKU_PACKAGES: is not JSON" in bad
    fixed = make_client(
        [spec],
        DUITKU_MERCHANT_CODE="DS12345",
        DUITKU_API_KEY=KEY,
        DUITKU_BASE_URL="http://127.0.0.1:9/webapi/api/merchant",
        DUITKU_CONNECT_TIMEOUT="0.5",
    )
    from lumiku.testing import sign_up

    user = sign_up(fixed)
    failed = user.post("/api/payments", json={"packageId": "topup-1500"})
    assert failed.status_code == 503
    seen = [
        bad,
        failed.text,
        fixed.get("/api/plugins", headers=OPERATOR_HEADERS).text,
        fixed.get("/api/payments/health", headers=OPERATOR_HEADERS).text,
        fixed.get("/health/detailed", headers=OPERATOR_HEADERS).text,
        fixed.get("/openapi.json").text,
        repr(fixed.app.state.runtime.contexts["payments_duitku"].settings),  # type: ignore[attr-defined]
        caplog.text,
    ]
    assert all(KEY not in text for text in seen)
