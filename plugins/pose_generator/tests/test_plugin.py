"""The plugin is discovered, running, and says so only once its parts work."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku.testing import OPERATOR_HEADERS


def test_is_discovered_and_running_degraded_without_redis(client: TestClient, kit: Any) -> None:
    plugins = {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    assert plugins["pose_generator"]["state"] == "degraded"  # Redis is off in tests
    health = client.get(kit.prefix + "/health", headers=OPERATOR_HEADERS)
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    checks = health.json()["checks"]
    assert checks["queue"]["status"] == "degraded"
    assert checks["queue"]["detail"].startswith("in-process (Redis is off); waiting 0, active 0")
    assert {name: c["status"] for name, c in checks.items() if name != "queue"} == {
        "provider": "ok",
        "storage": "ok",
        "websocket": "ok",
    }
    public = client.get(kit.prefix + "/health").json()
    assert public["status"] == "degraded"
    assert "checks" not in public


def test_the_startup_lines_follow_working_parts(
    app_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="lumiku"):
        app_client()
    lines = [r.getMessage() for r in caplog.records]
    assert "✅ Pose Generator queue initialized (in-process)" in lines
    assert "✅ Pose Generator storage initialized" in lines
    assert "✅ WebSocket server initialized for Pose Generator" in lines
    assert not [line for line in lines if line.startswith("❌")]
