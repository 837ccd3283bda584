"""The plugin is discovered and running; without Redis it is degraded and runs jobs in process."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from lumiku.plugins.discovery import discover
from lumiku.testing import OPERATOR_HEADERS


def test_is_discovered_through_its_entry_point() -> None:
    found = {candidate.name: candidate for candidate in discover()}

    assert "avatar_creator" in found
    loaded = found["avatar_creator"].load()
    assert getattr(loaded, "id", None) == "avatar_creator"


def test_is_discovered_and_running_when_installed(make_client: Any) -> None:
    client: TestClient = make_client(None)

    plugins = {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }

    record = plugins["avatar_creator"]
    assert record["state"] in {"running", "degraded"}
    assert "POST /api/apps/avatar-creator/projects/{project_id}/avatars/upload" in record["routes"]
    assert record["credits"] == {
        "generateAvatar": 10,
        "uploadAvatar": 2,
        "fromPreset": 8,
        "editPersona": 0,
    }


def test_without_redis_it_reports_degraded_with_jobs_in_process(client: TestClient) -> None:
    plugins = {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    health = client.get("/api/apps/avatar-creator/health", headers=OPERATOR_HEADERS).json()

    assert plugins["avatar_creator"]["state"] == "degraded"
    assert plugins["avatar_creator"]["reasonCode"] == "redis_unavailable"
    assert health["state"] == "degraded"
    assert health["checks"]["provider"]["status"] == "ok"
    assert health["checks"]["queue"]["status"] == "degraded"
    assert "this process" in health["checks"]["queue"]["detail"]


def test_credit_costs_can_be_overridden_by_the_deployer(app_client: Any) -> None:
    client = app_client(AVATAR_CREATOR_CREDITS_GENERATE_AVATAR="15")

    info = client.get("/api/apps/avatar-creator/info").json()

    assert info["credits"]["generateAvatar"] == 15
    assert info["provider"] == "local"


def test_every_route_is_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()

    paths = [path for path in document["paths"] if path.startswith("/api/apps/avatar-creator")]
    assert "/api/apps/avatar-creator/projects/{projectId}/avatars/generate" in paths
    assert "/api/apps/avatar-creator/presets" in paths
    assert len(paths) >= 15
