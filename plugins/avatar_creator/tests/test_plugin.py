"""The plugin is discovered and running."""

from __future__ import annotations

from typing import Any

from lumiku_avatar_creator.plugin import spec


def test_is_discovered_and_running(make_client: Any) -> None:
    client = make_client([spec])
    response = client.get("/api/plugins")
    assert response.status_code == 200, response.text
    print(response.json())
    health = client.get("/api/apps/avatar-creator/health")
    print(health.json())
