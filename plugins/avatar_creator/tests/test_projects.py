"""Projects and avatars belong to their user; deleting them removes rows and files."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from lumiku_avatar_creator.usage import record_avatar_usage


def test_another_users_project_avatars_and_generations_are_404(
    client: TestClient, kit: Any
) -> None:
    owner, other = kit.sign_up(client, "owner"), kit.sign_up(client, "other")
    project_id = owner.project()
    avatar_id = owner.upload(project_id).json()["avatar"]["id"]
    generation_id = owner.generate(project_id).json()["generation"]["id"]
    kit.drain(client)

    responses = [
        other.get(f"/projects/{project_id}"),
        other.put(f"/projects/{project_id}", json={"name": "mine"}),
        other.delete(f"/projects/{project_id}"),
        other.upload(project_id),
        other.generate(project_id),
        other.post(
            f"/projects/{project_id}/avatars/from-preset", json={"presetId": "casual-street"}
        ),
        other.get(f"/avatars?projectId={project_id}"),
        other.get(f"/avatars/{avatar_id}"),
        other.put(f"/avatars/{avatar_id}", json={"name": "mine"}),
        other.delete(f"/avatars/{avatar_id}"),
        other.get(f"/avatars/{avatar_id}/usage-history"),
        other.get(f"/generations/{generation_id}"),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    assert other.balance() == {"balance": 100, "held": 0, "available": 100}
    assert other.get("/projects").json()["projects"] == []
    assert owner.get(f"/projects/{project_id}").json()["avatarCount"] == 2


def test_projects_are_created_listed_renamed_and_paged(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    ids = [api.project(f"Project {n}") for n in range(5)]

    renamed = api.put(f"/projects/{ids[0]}", json={"name": "First", "description": "notes"})
    first = api.get("/projects?limit=2").json()
    second = api.get(f"/projects?limit=2&cursor={first['nextCursor']}").json()
    third = api.get(f"/projects?limit=2&cursor={second['nextCursor']}").json()

    assert renamed.status_code == 200
    assert renamed.json()["description"] == "notes"
    names = [p["name"] for page in (first, second, third) for p in page["projects"]]
    assert names == ["Project 4", "Project 3", "Project 2", "Project 1", "First"]
    assert third["nextCursor"] is None
    assert api.get("/projects?cursor=not-a-cursor").status_code == 400
    assert api.get("/projects?limit=500").status_code == 422
    assert api.post("/projects", json={"name": ""}).status_code == 422
    assert api.post("/projects", json={"name": "x" * 101}).status_code == 422


def test_project_creation_is_rate_limited_to_twenty_an_hour(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)

    statuses = [api.post("/projects", json={"name": f"p{n}"}).status_code for n in range(21)]

    assert statuses == [201] * 20 + [429]


def test_generate_is_rate_limited_to_five_a_minute(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()

    statuses = [api.generate(project_id).status_code for _ in range(6)]
    kit.drain(client)

    assert statuses == [202] * 5 + [429]
    assert api.balance()["balance"] == 50


def test_deleting_an_avatar_removes_its_files_and_usage(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()
    avatar = api.upload(project_id).json()["avatar"]
    engine = kit.runtime(client).engine
    record_avatar_usage(engine, avatar["id"], api.user_id, "pose_generator", "pose", "g-1")
    assert len(kit.files()) == 2

    response = api.delete(f"/avatars/{avatar['id']}")

    assert response.status_code == 204
    assert kit.files() == []
    assert api.get(f"/avatars/{avatar['id']}").status_code == 404
    assert client.get(avatar["imageUrl"]).status_code == 404
    assert kit.count_rows(client, "avatar_usage_history") == 0


def test_deleting_a_project_removes_everything_it_holds(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()
    keep_id = api.project("Keep")
    kept = api.upload(keep_id).json()["avatar"]
    uploaded = api.upload(project_id).json()["avatar"]
    generation_id = api.generate(project_id).json()["generation"]["id"]
    assert api.wait_for(generation_id)["status"] == "completed"
    engine = kit.runtime(client).engine
    record_avatar_usage(engine, uploaded["id"], api.user_id, "pose_generator", "pose", "g-1")
    assert len(kit.files()) == 6

    response = api.delete(f"/projects/{project_id}")

    assert response.status_code == 204
    assert api.get(f"/projects/{project_id}").status_code == 404
    assert api.get(f"/generations/{generation_id}").status_code == 404
    assert [a["id"] for a in api.get("/avatars").json()["avatars"]] == [kept["id"]]
    assert len(kit.files()) == 2
    assert kit.count_rows(client, "avatar_usage_history") == 0
    assert kit.count_rows(client, "avatar_generations") == 0
    assert api.balance()["balance"] == 100 - 2 - 2 - 10  # what was delivered stays paid


def test_deleting_a_project_releases_the_holds_of_queued_generations(
    client: TestClient, kit: Any
) -> None:
    kit.jobs(client).hold()  # the job arrives late, run by hand below
    api = kit.sign_up(client)
    project_id = api.project()
    generation_id = api.generate(project_id).json()["generation"]["id"]
    assert api.balance()["held"] == 10

    assert api.delete(f"/projects/{project_id}").status_code == 204
    kit.services(client).jobs.run(generation_id, retries=0)  # the job arrives late

    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    assert kit.files() == []


def test_avatars_are_edited_for_free_and_listed_by_project(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    first, second = api.project("One"), api.project("Two")
    avatar = api.upload(first, personaName="Ana", hairColor="black").json()["avatar"]
    api.upload(second)

    edited = api.put(
        f"/avatars/{avatar['id']}",
        json={"name": "Ana B", "personaPersonality": ["bold"], "hairColor": ""},
    )
    listed = api.get(f"/avatars?projectId={first}").json()

    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["name"], body["personaName"], body["hairColor"]) == ("Ana B", "Ana", None)
    assert body["personaPersonality"] == ["bold"]
    assert [a["id"] for a in listed["avatars"]] == [avatar["id"]]
    assert len(api.get("/avatars").json()["avatars"]) == 2
    assert api.balance()["balance"] == 96
    assert api.get("/avatars?projectId=nope").status_code == 404


def test_stats_report_counts_usage_credits_and_costs(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()
    avatar = api.upload(project_id).json()["avatar"]
    api.wait_for(api.generate(project_id).json()["generation"]["id"])
    engine = kit.runtime(client).engine
    record_avatar_usage(engine, avatar["id"], api.user_id, "pose_generator", "pose", "a")
    record_avatar_usage(engine, avatar["id"], api.user_id, "pose_generator", "pose", "b")

    stats = api.get("/stats").json()

    assert stats["projects"] == 1
    assert stats["avatars"] == {"total": 2, "uploaded": 1, "generated": 1, "fromPreset": 0}
    assert stats["generations"]["completed"] == 1
    assert [a["id"] for a in stats["recentUploads"]] == [avatar["id"]]
    assert [(u["appId"], u["count"]) for u in stats["usage"]] == [("pose_generator", 2)]
    assert [a["id"] for a in stats["topAvatars"]] == [avatar["id"]]
    assert stats["credits"] == {"balance": 88, "held": 0, "available": 88}
    assert stats["costs"]["generateAvatar"] == 10
