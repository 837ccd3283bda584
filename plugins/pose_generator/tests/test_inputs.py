"""Bad generation requests get a 422 naming every failing field, never a charge."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient


@pytest.fixture
def client(shared_app: TestClient) -> TestClient:
    return shared_app


GALLERY = "GALLERY_REFERENCE"
TEXT = "TEXT_DESCRIPTION"
PREFIX = "/api/apps/pose-generator"


@pytest.fixture(scope="module")
def member(shared_app: TestClient) -> tuple[Any, str]:
    """One user and project for the module (sign-ups are limited per address)."""
    from lumiku.testing import sign_up

    user = sign_up(shared_app, "in")
    upload = user.post(
        f"{PREFIX}/uploads", files={"image": ("a.png", _image(), "image/png")}
    ).json()["imageUrl"]
    project = user.post(
        f"{PREFIX}/projects",
        json={"projectName": "P", "avatarSource": "UPLOAD", "avatarImageUrl": upload},
    ).json()["id"]
    return user, project


def submit(member: tuple[Any, str], **body: Any) -> Any:
    user, project = member
    response = user.post(f"{PREFIX}/generate", json={"projectId": project, **body})
    assert user.get("/api/credits/balance").json()["held"] == 0
    return response


def _image() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (128, 128), (10, 20, 30)).save(out, format="PNG")
    return out.getvalue()


def pose_ids(client: TestClient, count: int) -> list[str]:
    from lumiku.testing import runtime_of

    with runtime_of(client).engine.connect() as connection:
        import sqlalchemy as sa

        return list(
            connection.execute(
                sa.text("SELECT id FROM pose_library ORDER BY id LIMIT :n"), {"n": count}
            ).scalars()
        )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"generationType": "OTHER"}, {"generationType"}),
        ({"generationType": GALLERY}, {"selectedPoseIds"}),
        ({"generationType": GALLERY, "selectedPoseIds": []}, {"selectedPoseIds"}),
        ({"generationType": GALLERY, "selectedPoseIds": ["x"] * 201}, {"selectedPoseIds"}),
        ({"generationType": GALLERY, "selectedPoseIds": ["nope"]}, {"selectedPoseIds[0]"}),
        ({"generationType": GALLERY, "selectedPoseIds": ["p"], "batchSize": 0}, {"batchSize"}),
        ({"generationType": GALLERY, "selectedPoseIds": ["p"], "batchSize": 11}, {"batchSize"}),
        ({"generationType": GALLERY, "selectedPoseIds": ["p"], "batchSize": "2"}, {"batchSize"}),
        ({"generationType": TEXT}, {"textPrompt", "variationCount"}),
        ({"generationType": TEXT, "textPrompt": "ab", "variationCount": 1}, {"textPrompt"}),
        ({"generationType": TEXT, "textPrompt": "x" * 501, "variationCount": 1}, {"textPrompt"}),
        ({"generationType": TEXT, "textPrompt": "standing", "variationCount": 21},
         {"variationCount"}),
        ({"generationType": TEXT, "textPrompt": "a red car", "variationCount": 1}, {"textPrompt"}),
        ({"generationType": TEXT, "textPrompt": "standing nude", "variationCount": 1},
         {"textPrompt"}),
        ({"generationType": TEXT, "textPrompt": "standing N.U.D.E", "variationCount": 1},
         {"textPrompt"}),
        ({"generationType": TEXT, "textPrompt": "posing with a gun", "variationCount": 1},
         {"textPrompt"}),
        ({"generationType": TEXT, "textPrompt": "sitting like Pikachu", "variationCount": 1},
         {"textPrompt"}),
        ({"generationType": TEXT, "textPrompt": "standing", "variationCount": 1,
          "useBackgroundChanger": True}, {"backgroundMode"}),
        ({"generationType": TEXT, "textPrompt": "standing", "variationCount": 1,
          "useBackgroundChanger": True, "backgroundMode": "solid_color"}, {"backgroundColor"}),
        ({"generationType": TEXT, "textPrompt": "standing", "variationCount": 1,
          "useBackgroundChanger": True, "backgroundMode": "solid_color",
          "backgroundColor": "red"}, {"backgroundColor"}),
        ({"generationType": TEXT, "textPrompt": "standing", "variationCount": 1,
          "useBackgroundChanger": True, "backgroundMode": "upload",
          "backgroundImageUrl": "http://x/files/a"}, {"backgroundImageUrl"}),
        ({"generationType": TEXT, "textPrompt": "standing", "variationCount": 1,
          "useBackgroundChanger": True, "backgroundMode": "ai_generate"}, {"backgroundPrompt"}),
        ({"generationType": TEXT, "textPrompt": "standing", "variationCount": 1,
          "backgroundPrompt": "x" * 301}, {"backgroundPrompt"}),
        ({"generationType": TEXT, "textPrompt": "standing", "variationCount": 1,
          "outputFormats": ["print_a5"]}, {"outputFormats"}),
        ({"generationType": TEXT, "textPrompt": "standing", "variationCount": 1,
          "surprise": 1}, {"surprise"}),
    ],
)  # fmt: skip
def test_a_bad_generation_is_422_naming_the_fields(
    member: Any, body: dict[str, Any], fields: set[str]
) -> None:
    response = submit(member, **body)
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]["details"]["fields"]) >= fields


def test_more_than_500_poses_is_422(client: TestClient, member: Any) -> None:
    ids = pose_ids(client, 1) + [f"pose-{n}" for n in range(50)]
    response = submit(member, generationType=GALLERY, selectedPoseIds=ids, batchSize=10)
    assert response.status_code == 422
    assert "batchSize" in response.json()["error"]["details"]["fields"]


def test_a_pose_selected_twice_is_422(client: TestClient, member: Any) -> None:
    [pose] = pose_ids(client, 1)
    response = submit(member, generationType=GALLERY, selectedPoseIds=[pose, pose])
    assert response.status_code == 422
    assert "selectedPoseIds[1]" in response.json()["error"]["details"]["fields"]


def test_a_project_that_is_not_the_callers_is_404(member: Any) -> None:
    user, _ = member
    other = user.post(
        f"{PREFIX}/generate",
        json={"projectId": "missing", "generationType": GALLERY, "selectedPoseIds": ["a"]},
    )
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "PROJECT_NOT_FOUND"
