"""The public usage service other plugins call, and the usage-history endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku_avatar_creator.errors import AvatarNotFound
from lumiku_avatar_creator.usage import find_avatar, record_avatar_usage


def test_usage_is_recorded_once_per_reference_and_summarised(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    avatar_id = api.upload(api.project()).json()["avatar"]["id"]
    engine = kit.runtime(client).engine

    assert record_avatar_usage(engine, avatar_id, api.user_id, "pose_generator", "pose", "g1")
    assert not record_avatar_usage(engine, avatar_id, api.user_id, "pose_generator", "pose", "g1")
    assert record_avatar_usage(engine, avatar_id, api.user_id, "pose_generator", "pose", "g2")
    assert record_avatar_usage(engine, avatar_id, api.user_id, "pose_generator", "export")
    assert record_avatar_usage(engine, avatar_id, api.user_id, "pose_generator", "export")
    assert record_avatar_usage(engine, avatar_id, api.user_id, "video_maker", "intro", "v1")

    body = api.get(f"/avatars/{avatar_id}/usage-history?limit=3").json()
    more = api.get(f"/avatars/{avatar_id}/usage-history?cursor={body['nextCursor']}").json()

    assert len(body["history"]) == 3
    assert len(more["history"]) == 2
    assert more["nextCursor"] is None
    assert body["history"][0]["appId"] == "video_maker"
    summary = {s["appId"]: s["count"] for s in body["summary"]}
    assert summary == {"pose_generator": 4, "video_maker": 1}
    avatar = api.get(f"/avatars/{avatar_id}").json()
    assert avatar["usageCount"] == 5
    assert avatar["lastUsedAt"] is not None


def test_another_users_avatar_cannot_be_found_or_used(client: TestClient, kit: Any) -> None:
    owner, other = kit.sign_up(client, "owner"), kit.sign_up(client, "other")
    avatar_id = owner.upload(owner.project()).json()["avatar"]["id"]
    engine = kit.runtime(client).engine

    found = find_avatar(engine, avatar_id, owner.user_id)
    assert found is not None
    assert found.image_key.startswith("avatar-creator/")
    assert find_avatar(engine, avatar_id, other.user_id) is None
    with pytest.raises(AvatarNotFound):
        record_avatar_usage(engine, avatar_id, other.user_id, "pose_generator", "pose")
    with pytest.raises(ValueError, match="app_id"):
        record_avatar_usage(engine, avatar_id, owner.user_id, "", "pose")
