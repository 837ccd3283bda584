"""Projects: an uploaded image or an Avatar Creator avatar, CRUD, delete refused while busy."""

from __future__ import annotations

from typing import Any

import pytest

from lumiku_avatar_creator.plugin import spec as avatar_spec


def test_a_project_with_an_uploaded_image_is_created_read_changed_and_deleted(
    client: Any, kit: Any
) -> None:
    api = kit.sign_up(client)
    url = api.upload()
    created = api.post(
        "/projects",
        json={
            "projectName": " Lookbook ",
            "description": "May",
            "avatarSource": "UPLOAD",
            "avatarImageUrl": url,
        },
    )
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["projectName"] == "Lookbook"
    assert project["avatarSource"] == "UPLOAD"
    assert project["avatarId"] is None
    assert client.get(project["avatarImageUrl"]).content == client.get(url).content

    changed = api.put(
        f"/projects/{project['id']}", json={"projectName": "Lookbook 2", "status": "archived"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["projectName"], changed.json()["status"]) == ("Lookbook 2", "archived")
    listed = api.get("/projects").json()
    assert [p["id"] for p in listed["projects"]] == [project["id"]]
    other = kit.sign_up(client, "eve")
    assert other.get(f"/projects/{project['id']}").status_code == 404
    assert other.delete(f"/projects/{project['id']}").status_code == 404
    assert api.delete(f"/projects/{project['id']}").status_code == 204
    assert api.get(f"/projects/{project['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"avatarSource": "UPLOAD"}, "avatarImageUrl"),
        (
            {"avatarSource": "UPLOAD", "avatarImageUrl": "https://evil.example/x.png"},
            "avatarImageUrl",
        ),
        (
            {"avatarSource": "UPLOAD", "avatarImageUrl": "/files/x?expires=1&signature=0"},
            "avatarImageUrl",
        ),
        (
            {"avatarSource": "UPLOAD", "avatarImageUrl": "/files/pose-generator/a/b.png"},
            "avatarImageUrl",
        ),
        ({"avatarSource": "SOMETHING", "avatarImageUrl": "x"}, "avatarSource"),
        ({"avatarSource": "AVATAR_CREATOR"}, "avatarId"),
        ({"projectName": "", "avatarSource": "UPLOAD", "avatarImageUrl": "x"}, "projectName"),
    ],
)
def test_a_project_without_a_usable_avatar_is_422(
    client: Any, kit: Any, body: dict[str, Any], field: str
) -> None:
    api = kit.sign_up(client)
    response = api.post("/projects", json={"projectName": "P", **body})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    reason = error["details"]["fields"][field]
    # Read as the core's other 422s: the schema sentence, then "field: reason".
    assert error["message"].startswith("The request body breaks the schema: ")
    assert f"{field}: {reason}" in error["message"]
    assert "breaks the rules" not in error["message"]
    assert f"{field} This" not in error["message"]


def test_without_avatar_creator_its_avatars_are_refused_with_503(client: Any, kit: Any) -> None:
    api = kit.sign_up(client)
    response = api.post(
        "/projects",
        json={"projectName": "P", "avatarSource": "AVATAR_CREATOR", "avatarId": "a1"},
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "AVATAR_CREATOR_UNAVAILABLE"


def test_an_avatar_creator_avatar_is_posed_and_its_use_recorded(app_client: Any, kit: Any) -> None:
    client = app_client(avatar_spec)
    api = kit.sign_up(client)
    creator = api.__class__(
        client, user_id=api.user_id, email=api.email, token=api.token, prefix=avatar_spec.prefix
    )
    avatar_project = creator.post("/projects", json={"name": "Me"}).json()["id"]
    uploaded = creator.post(
        f"/projects/{avatar_project}/avatars/upload",
        files={"image": ("me.png", kit.image(400, 400), "image/png")},
        data={"name": "Me"},
    )
    assert uploaded.status_code in (200, 201), uploaded.text
    avatar_id = uploaded.json()["avatar"]["id"]
    stranger = kit.sign_up(client, "eve")
    refused = stranger.post(
        "/projects",
        json={"projectName": "P", "avatarSource": "AVATAR_CREATOR", "avatarId": avatar_id},
    )
    assert refused.status_code == 422

    project = api.post(
        "/projects",
        json={"projectName": "P", "avatarSource": "AVATAR_CREATOR", "avatarId": avatar_id},
    )
    assert project.status_code == 201, project.text
    queued = api.gallery(project.json()["id"], kit.poses(client, 2))
    kit.drain(client)
    assert api.wait_for(queued.json()["generationId"])["status"] == "completed"

    usage = creator.get(f"/avatars/{avatar_id}/usage-history").json()
    assert [u["appId"] for u in usage["summary"]] == ["pose_generator"]
    assert usage["summary"][0]["count"] == 1  # one generation, recorded once


def test_a_project_with_a_generation_running_is_not_deleted(client: Any, kit: Any) -> None:
    api = kit.sign_up(client)
    project = api.project()
    queue = kit.jobs(client)
    queue.hold()
    queued = api.gallery(project, kit.poses(client, 1))
    assert queued.status_code == 202
    refused = api.delete(f"/projects/{project}")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "GENERATION_IN_PROGRESS"
    queue.release()
    kit.drain(client)
    assert api.wait_for(queued.json()["generationId"])["status"] == "completed"
    files = len(kit.files())
    assert api.delete(f"/projects/{project}").status_code == 204
    assert len(kit.files()) == files - 2  # the pose and its thumbnail
    assert kit.count_rows(client, "generated_poses") == 0
    assert api.get(f"/generations/{queued.json()['generationId']}").status_code == 404
