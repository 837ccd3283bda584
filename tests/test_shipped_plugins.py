"""The three plugins shipped in this repository, found through their entry points as a
deployer installs them: states, reasons, health, the app list and the startup lines."""

from __future__ import annotations

import importlib.metadata
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku.app import create_app
from lumiku.plugins.discovery import discover
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.spec import PluginSpec
from lumiku.settings import load_settings
from lumiku.testing import OPERATOR_HEADERS

SHIPPED = {
    "avatar_creator": "lumiku-avatar-creator",
    "pose_generator": "lumiku-pose-generator",
    "payments_duitku": "lumiku-payments-duitku",
}
DUITKU = {"DUITKU_MERCHANT_CODE": "D0001", "DUITKU_API_KEY": "shipped-test-key"}


def plugins(client: TestClient) -> dict[str, dict[str, Any]]:
    return {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }


def test_the_shipped_plugins_are_installed_entry_points_that_declare_themselves_bundled() -> None:
    found = {candidate.name: candidate for candidate in discover()}
    for plugin_id, distribution in SHIPPED.items():
        assert found[plugin_id].distribution == distribution
        assert found[plugin_id].bundled  # kept by LUMIKU_SAFE_MODE
        assert found[plugin_id].version == importlib.metadata.version(distribution)


@pytest.mark.parametrize("plugin_id", ["avatar_creator", "payments_duitku"])
def test_a_shipped_plugin_takes_its_version_from_its_distribution(
    plugin_id: str, lumiku_env: dict[str, str]
) -> None:
    candidate = next(c for c in discover() if c.name == plugin_id)
    spec = candidate.load()
    assert isinstance(spec, PluginSpec)
    assert spec.version is None  # one place to bump: the package's metadata
    registry = PluginRegistry(load_settings(lumiku_env), redis_available=False)
    registry.load([candidate])
    version = importlib.metadata.version(SHIPPED[plugin_id])
    assert registry.records[plugin_id].version == version
    assert registry.records[plugin_id].to_json()["version"] == version


def test_states_and_reasons_with_the_defaults(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    found = plugins(client)
    # Redis is off in tests: the plugins that queue work are degraded, not down.
    assert (found["avatar_creator"]["state"], found["avatar_creator"]["reasonCode"]) == (
        "degraded",
        "redis_unavailable",
    )
    assert found["pose_generator"]["state"] == "degraded"
    duitku = found["payments_duitku"]
    assert (duitku["state"], duitku["reasonCode"]) == ("disabled", "missing_config")
    assert "DUITKU_MERCHANT_CODE" in duitku["reason"]
    assert client.get("/health").status_code == 200
    # Not mounted while disabled: the generic plugin health route reports it.
    assert client.get("/api/payments/health", headers=OPERATOR_HEADERS).status_code == 404
    assert (
        client.get("/api/apps/payments-duitku/health", headers=OPERATOR_HEADERS).json()["state"]
        == "disabled"
    )
    for plugin_id in ("avatar_creator", "pose_generator"):
        health = client.get(
            f"/api/apps/{plugin_id.replace('_', '-')}/health", headers=OPERATOR_HEADERS
        )
        assert health.status_code == 200, health.text
        assert health.json()["state"] == "degraded"
    assert [app["id"] for app in client.get("/api/apps").json()["apps"]] == [
        "avatar_creator",
        "pose_generator",
    ]


def test_everything_configured(make_client: Callable[..., TestClient]) -> None:
    client = make_client(**DUITKU, AVATAR_CREATOR_CREDITS_GENERATE_AVATAR="12")
    found = plugins(client)
    assert found["payments_duitku"]["state"] == "running"
    assert client.get("/api/payments/health", headers=OPERATOR_HEADERS).status_code == 200
    apps = client.get("/api/apps").json()["apps"]
    assert [app["title"] for app in apps] == ["Avatar Creator", "Duitku Payments", "Pose Generator"]
    assert apps[0]["credits"]["generateAvatar"] == 12
    assert found["avatar_creator"]["credits"]["generateAvatar"] == 12
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()
    assert set(SHIPPED) <= set(detailed["plugins"])


def test_toggles_on_the_shipped_plugins(make_client: Callable[..., TestClient]) -> None:
    safe = make_client(LUMIKU_SAFE_MODE="1", **DUITKU)
    assert {k: v["state"] for k, v in plugins(safe).items() if k in SHIPPED} == {
        "avatar_creator": "degraded",
        "payments_duitku": "running",
        "pose_generator": "degraded",
    }
    without_avatars = make_client(LUMIKU_DISABLE_PLUGINS="avatar_creator")
    found = plugins(without_avatars)
    assert found["avatar_creator"]["reason"] == "by env"
    assert found["pose_generator"]["state"] == "degraded"
    assert (
        without_avatars.get("/api/apps/avatar-creator/health", headers=OPERATOR_HEADERS).json()[
            "state"
        ]
        == "disabled"
    )
    none = make_client(LUMIKU_PLUGINS="")
    assert {p["state"] for p in plugins(none).values()} == {"disabled"}
    assert none.get("/api/apps").json()["apps"] == []
    assert none.get("/health/readiness").status_code == 200


def test_a_core_without_any_plugin_boots(make_client: Callable[..., TestClient]) -> None:
    client = make_client([])
    assert client.get("/health").status_code == 200
    assert client.get("/api/plugins", headers=OPERATOR_HEADERS).json() == {"plugins": []}
    assert client.get("/api/apps/avatar-creator/info").status_code == 404


def test_startup_prints_the_lines_operators_grep_for(
    lumiku_env: dict[str, str],
    database_url: str,  # created now: the app is built without the kit
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The plugins start (and print their lines) only on a migrated database.
    lumiku = Path(sys.executable).parent / "lumiku"
    migrated = subprocess.run(
        [str(lumiku), "migrate"], env={**os.environ, **lumiku_env}, capture_output=True, check=False
    )
    assert migrated.returncode == 0, migrated.stderr
    caplog.set_level(logging.INFO)
    app = create_app(load_settings(lumiku_env))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
    for line in (
        "✅ Environment variables validated successfully",
        "✅ Database connected successfully",
        "✅ Pose Generator queue initialized",
        "✅ Pose Generator storage initialized",
        "✅ WebSocket server initialized for Pose Generator",
        "✅ Application started (",
    ):
        assert line in caplog.text
    assert caplog.text.index("✅ Environment variables validated successfully") < caplog.text.index(
        "✅ Application started ("
    )
