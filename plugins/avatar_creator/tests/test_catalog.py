"""Presets and persona examples are public, seeded, and presets carry rendered previews."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from PIL import Image
from starlette.testclient import TestClient


def test_presets_are_public_seeded_and_have_previews(client: TestClient, kit: Any) -> None:
    response = client.get(kit.prefix + "/presets")

    assert response.status_code == 200, response.text
    body = response.json()
    presets = body["presets"]
    assert len(presets) == 20
    assert body["nextCursor"] is None
    assert Counter(p["category"] for p in presets) == {
        "professional": 4,
        "casual": 4,
        "sports": 4,
        "fashion": 4,
        "traditional": 4,
    }
    assert all(p["creditCost"] == 8 for p in presets)
    preview = client.get(presets[0]["previewUrl"])
    assert preview.status_code == 200
    assert preview.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(preview.content)) as image:
        assert image.size == (384, 384)
    assert len(kit.files()) == 20


def test_previews_are_rendered_once_and_differ_between_presets(
    client: TestClient, kit: Any
) -> None:
    first = client.get(kit.prefix + "/presets").json()["presets"]
    again = client.get(kit.prefix + "/presets").json()["presets"]

    keys = [p["previewUrl"].split("?")[0] for p in first]
    assert keys == [p["previewUrl"].split("?")[0] for p in again]
    contents = {client.get(p["previewUrl"]).content for p in first[:5]}
    assert len(contents) == 5
    assert len(kit.files()) == 20


def test_a_missing_preview_file_is_rendered_again(client: TestClient, kit: Any) -> None:
    url = client.get(kit.prefix + "/presets/casual-street").json()["previewUrl"]
    for path in kit.files():
        path.unlink()

    again = client.get(kit.prefix + "/presets/casual-street").json()["previewUrl"]

    assert again.split("?")[0] != url.split("?")[0]
    assert client.get(again).status_code == 200


def test_presets_filter_by_category_and_page(client: TestClient, kit: Any) -> None:
    sports = client.get(kit.prefix + "/presets?category=sports").json()["presets"]
    page = client.get(kit.prefix + "/presets?limit=15").json()
    rest = client.get(kit.prefix + f"/presets?limit=15&cursor={page['nextCursor']}").json()

    assert {p["category"] for p in sports} == {"sports"}
    assert len(sports) == 4
    assert len(page["presets"]) == 15
    assert len(rest["presets"]) == 5
    assert rest["nextCursor"] is None
    assert client.get(kit.prefix + "/presets?category=space").status_code == 422


def test_one_preset_by_id(client: TestClient, kit: Any) -> None:
    preset = client.get(kit.prefix + "/presets/traditional-batik")
    missing = client.get(kit.prefix + "/presets/nope")

    assert preset.status_code == 200
    body = preset.json()
    assert body["name"] == "Batik"
    assert body["personaPersonality"] == ["wise", "courteous"]
    assert body["previewUrl"]
    assert missing.status_code == 404


def test_persona_examples_are_public_and_seeded(client: TestClient, kit: Any) -> None:
    body = client.get(kit.prefix + "/persona-examples").json()
    traditional = client.get(kit.prefix + "/persona-examples?category=traditional").json()

    assert len(body["personaExamples"]) == 8
    first = body["personaExamples"][0]
    assert first["personaName"]
    assert first["personaPersonality"]
    assert first["title"]
    assert {p["category"] for p in traditional["personaExamples"]} == {"traditional"}
