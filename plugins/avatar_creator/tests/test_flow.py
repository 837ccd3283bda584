"""The whole flow through HTTP and a real in-process worker."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

from PIL import Image
from starlette.testclient import TestClient

from lumiku.idempotency import RequestKey


def test_register_project_upload_generate_poll_and_fetch_the_image(
    client: TestClient, kit: Any
) -> None:
    api = kit.sign_up(client)
    project_id = api.project("Launch campaign")

    uploaded = api.upload(
        project_id,
        kit.image(640, 480),
        name="Ana",
        personaName="Ana",
        personaAge="29",
        personaPersonality="curious, kind",
        gender="female",
        hairColor="black",
    )
    assert uploaded.status_code == 200, uploaded.text
    upload = uploaded.json()
    assert upload["creditUsed"] == 2
    assert upload["creditBalance"] == 98
    assert upload["avatar"]["source"] == "upload"
    assert upload["avatar"]["personaPersonality"] == ["curious", "kind"]
    assert upload["avatar"]["personaAge"] == 29
    assert (upload["avatar"]["width"], upload["avatar"]["height"]) == (640, 480)

    submitted = api.generate(
        project_id,
        name="Ana in the park",
        prompt="smiling in a sunny park",
        personaName="Ana",
        personaPersonality=["curious"],
        gender="female",
        hairStyle="bob",
        style="casual",
    )
    assert submitted.status_code == 202, submitted.text
    queued = submitted.json()
    assert submitted.headers["Location"].endswith(
        f"/api/apps/avatar-creator/generations/{queued['generation']['id']}"
    )
    assert queued["creditUsed"] == 10
    assert queued["creditBalance"] == 88
    assert queued["generation"]["status"] in {"pending", "processing", "completed"}

    done = api.wait_for(queued["generation"]["id"])

    assert done["status"] == "completed", done
    assert done["error"] is None
    avatar = done["avatar"]
    assert avatar["id"] == done["avatarId"]
    assert avatar["source"] == "generated"
    assert avatar["generationId"] == done["id"]
    image = client.get(avatar["imageUrl"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(image.content)) as picture:
        assert picture.size == (512, 512)
    thumbnail = client.get(avatar["thumbnailUrl"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert client.get(upload["avatar"]["imageUrl"]).status_code == 200

    assert api.balance() == {"balance": 88, "held": 0, "available": 88}  # completed = charged
    kinds = sorted((e["kind"], e["amount"]) for e in api.history())
    assert kinds == [("capture", -10), ("spend", -2), ("welcome", 100)]
    # The history reads as the user would say it: which avatar, never a hold id.
    reasons = [e["reason"] for e in api.history() if e["kind"] in ("capture", "spend")]
    assert reasons == ["Avatar generation 'Ana in the park'", "Avatar upload 'Ana'"]
    project = api.get(f"/projects/{project_id}").json()
    assert project["avatarCount"] == 2
    assert [a["name"] for a in project["avatars"]] == ["Ana in the park", "Ana"]
    assert len(kit.files()) == 4  # two images, two thumbnails


def test_an_unsigned_or_tampered_file_url_is_refused(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    avatar = api.upload(api.project()).json()["avatar"]
    path = avatar["imageUrl"].split("?")[0]

    assert client.get(path).status_code == 403
    assert client.get(avatar["imageUrl"].replace("signature=", "signature=0")).status_code == 403


def test_from_preset_is_queued_like_generate_and_costs_eight(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()

    response = api.post(
        f"/projects/{project_id}/avatars/from-preset",
        json={"presetId": "sports-runner", "customName": "Race day"},
    )

    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["creditUsed"], body["creditBalance"]) == (8, 92)
    done = api.wait_for(body["generation"]["id"])
    assert done["status"] == "completed", done
    assert done["avatar"]["source"] == "preset"
    assert done["avatar"]["presetId"] == "sports-runner"
    assert done["avatar"]["name"] == "Race day"
    assert done["avatar"]["style"] == "sporty"
    assert api.balance()["balance"] == 92
    preset = client.get(kit.prefix + "/presets/sports-runner").json()
    assert preset["usageCount"] == 1


def test_an_unknown_preset_is_404_and_holds_nothing(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)

    response = api.post(
        f"/projects/{api.project()}/avatars/from-preset", json={"presetId": "no-such-preset"}
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "PRESET_NOT_FOUND"
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}


def test_generate_checks_its_body(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()

    short = api.generate(project_id, prompt="too short")
    big = api.generate(project_id, width=4096)
    old = api.generate(project_id, personaAge=130)
    extra = api.generate(project_id, colour="red")

    for response in (short, big, old, extra):
        assert response.status_code == 422, response.text
    assert set(old.json()["error"]["details"]["fields"]) == {"personaAge"}
    assert api.balance()["held"] == 0


def test_a_generate_retry_with_the_same_key_holds_once(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()
    headers = {"Idempotency-Key": "gen-1"}
    path = f"/projects/{project_id}/avatars/generate"
    body = {"name": "A", "prompt": "a calm portrait", "width": 512, "height": 512}

    first = api.post(path, json=body, headers=headers)
    again = api.post(path, json=body, headers=headers)
    kit.drain(client)

    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]  # a replay keeps it
    assert first.json()["generation"]["id"] == again.json()["generation"]["id"]
    assert api.balance() == {"balance": 90, "held": 0, "available": 90}


def test_the_generation_service_finds_the_first_generation_on_a_retry(
    client: TestClient, kit: Any
) -> None:
    from lumiku_avatar_creator.generations import GenerationSpec

    api = kit.sign_up(client)
    project_id = api.project()
    generations = kit.services(client).generations
    spec = GenerationSpec(
        kind="prompt",
        name="A",
        prompt="a calm portrait",
        traits={},
        width=512,
        height=512,
        seed=1,
        action="generateAvatar",
    )

    def call() -> Any:  # what the route hands the service: the user and the request's key
        return SimpleNamespace(
            user_id=api.user_id, request_key=RequestKey.from_header(api.user_id, "key-1")
        )

    first = generations.submit(call(), project_id, spec)
    again = generations.submit(call(), project_id, spec)
    kit.drain(client)

    assert first.job["id"] == again.job["id"]
    assert again.replayed
    assert again.credits_held == 10
    assert api.balance() == {"balance": 90, "held": 0, "available": 90}
    assert kit.count_rows(client, "avatar_generations") == 1


def test_a_402_says_what_the_user_tried(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()
    ledger = kit.runtime(client).ledger
    ledger.adjust(api.user_id, -96, "test: leave 4 credits", f"test:{api.user_id}:1")

    generated = api.generate(project_id)
    assert generated.status_code == 402
    assert generated.json()["error"]["message"] == (
        "Not enough credits to generate an avatar: 10 needed, 4 available."
    )
    preset = api.post(
        f"/projects/{project_id}/avatars/from-preset", json={"presetId": "sports-runner"}
    )
    assert preset.status_code == 402
    assert preset.json()["error"]["message"] == (
        "Not enough credits to generate an avatar from a preset: 8 needed, 4 available."
    )
    ledger.adjust(api.user_id, -3, "test: leave 1 credit", f"test:{api.user_id}:2")
    uploaded = api.upload(project_id)
    assert uploaded.status_code == 402
    assert uploaded.json()["error"]["message"] == (
        "Not enough credits to upload an avatar: 2 needed, 1 available."
    )
