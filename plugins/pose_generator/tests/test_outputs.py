"""Exports at exact sizes in a streamed ZIP, regenerated exports, background changes."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from PIL import Image

from lumiku.images import LocalImageProvider
from lumiku_pose_generator.exports import FORMATS


def finished_generation(client: Any, kit: Any, api: Any, count: int = 2, **extra: Any) -> str:
    queued = api.gallery(api.project(), kit.poses(client, count), **extra)
    assert queued.status_code == 202, queued.text
    kit.drain(client)
    done = api.wait_for(queued.json()["generationId"])
    assert done["status"] == "completed", done
    return str(done["id"])


def test_the_zip_holds_each_requested_format_at_its_exact_size(client: Any, kit: Any) -> None:
    api = kit.sign_up(client)
    generation_id = finished_generation(client, kit, api)
    poses = [p["id"] for p in api.get(f"/generations/{generation_id}/results").json()["poses"]]
    wanted = ["instagram_story", "facebook_post", "print_4x6", "linkedin_post", "original"]

    response = api.get(
        f"/generations/{generation_id}/export-zip", params={"formats": ",".join(wanted)}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = sorted(archive.namelist())
    assert names == sorted(
        f"{name}/{pose}.{FORMATS[name].file_type}" for name in wanted for pose in poses
    )
    for name in names:
        export = FORMATS[name.split("/")[0]]
        image = Image.open(io.BytesIO(archive.read(name)))
        assert image.size == (export.size or (192, 256)), name
        assert image.format == ("PNG" if export.file_type == "png" else "JPEG")
    # A second download reuses the stored exports.
    files = len(kit.files())
    again = api.get(f"/generations/{generation_id}/export-zip", params={"formats": "original"})
    assert again.status_code == 200
    assert len(kit.files()) == files


def test_the_zip_defaults_to_the_generations_output_formats(client: Any, kit: Any) -> None:
    api = kit.sign_up(client)
    generation_id = finished_generation(
        client, kit, api, count=1, outputFormats=["tiktok", "shopee_product", "tiktok"]
    )
    assert api.get(f"/generations/{generation_id}").json()["outputFormats"] == [
        "tiktok",
        "shopee_product",
    ]
    archive = zipfile.ZipFile(
        io.BytesIO(api.get(f"/generations/{generation_id}/export-zip").content)
    )
    assert sorted(n.split("/")[0] for n in archive.namelist()) == ["shopee_product", "tiktok"]


def test_unknown_formats_are_422_naming_them(client: Any, kit: Any) -> None:
    api = kit.sign_up(client)
    generation_id = finished_generation(client, kit, api, count=1)
    for formats in ("instagram,original", "", ",", "a" * 30):
        response = api.get(
            f"/generations/{generation_id}/export-zip", params={"formats": formats or "x"}
        )
        assert response.status_code == 422, formats
        assert "formats" in response.json()["error"]["details"]["fields"]
    bad = api.gallery(api.project(), kit.poses(client, 1), outputFormats=["instagram"])
    assert bad.status_code == 422
    assert "outputFormats" in bad.json()["error"]["details"]["fields"]
    too_many = api.gallery(api.project(), kit.poses(client, 1), outputFormats=list(FORMATS)[:11])
    assert too_many.status_code == 422
    assert api.get("/generations/nope/export-zip").status_code == 404


def test_regenerate_export_makes_the_formats_again(client: Any, kit: Any) -> None:
    api = kit.sign_up(client)
    generation_id = finished_generation(client, kit, api, count=1)
    pose = api.get(f"/generations/{generation_id}/results").json()["poses"][0]
    first = api.post(f"/poses/{pose['id']}/regenerate-export", json={"formats": ["tiktok"]})
    assert first.status_code == 200, first.text
    url = first.json()["exports"]["tiktok"]
    second = api.post(f"/poses/{pose['id']}/regenerate-export", json={"formats": ["tiktok"]})
    assert second.json()["exports"]["tiktok"] != url
    image = Image.open(io.BytesIO(client.get(second.json()["exports"]["tiktok"]).content))
    assert image.size == (1080, 1920)
    assert (
        api.post("/poses/nope/regenerate-export", json={"formats": ["tiktok"]}).status_code == 404
    )
    bad = api.post(f"/poses/{pose['id']}/regenerate-export", json={"formats": ["nope"]})
    assert bad.status_code == 422


def test_a_background_change_costs_ten_and_replaces_the_image(client: Any, kit: Any) -> None:
    api = kit.sign_up(client)
    generation_id = finished_generation(client, kit, api, count=1)  # 30 spent
    pose = api.get(f"/generations/{generation_id}/results").json()["poses"][0]

    queued = api.post(
        f"/poses/{pose['id']}/background",
        json={"backgroundMode": "solid_color", "backgroundColor": "#00ff00"},
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["creditCharged"] == 10
    kit.drain(client)
    assert api.wait_for(queued.json()["generationId"])["status"] == "completed"
    changed = api.get(f"/generations/{generation_id}/results").json()["poses"][0]
    assert changed["backgroundChanged"] is True
    assert changed["imageUrl"].split("?")[0] != pose["imageUrl"].split("?")[0]
    picture = Image.open(io.BytesIO(client.get(changed["imageUrl"]).content)).convert("RGB")
    assert picture.getpixel((1, 1)) == (0, 255, 0)
    assert api.balance() == {"balance": 60, "held": 0, "available": 60}
    lines = [(e["kind"], e["amount"], e["reason"]) for e in api.history()[:2]]
    assert lines == [
        ("capture", -10, "Pose background change"),
        ("capture", -30, "Pose generation: 1 pose"),
    ]
    missing = api.post(f"/poses/{pose['id']}/background", json={"backgroundMode": "upload"})
    assert missing.status_code == 422
    assert "backgroundImageUrl" in missing.json()["error"]["details"]["fields"]


def test_a_background_change_deletes_the_files_it_replaced(client: Any, kit: Any) -> None:
    api = kit.sign_up(client)
    generation_id = finished_generation(client, kit, api, count=1)
    pose = api.get(f"/generations/{generation_id}/results").json()["poses"][0]
    made = api.post(f"/poses/{pose['id']}/regenerate-export", json={"formats": ["tiktok"]})
    assert made.status_code == 200, made.text
    before = set(kit.files())
    old_urls = [pose["imageUrl"], pose["thumbnailUrl"], made.json()["exports"]["tiktok"]]
    assert all(client.get(url).status_code == 200 for url in old_urls)

    queued = api.post(
        f"/poses/{pose['id']}/background",
        json={"backgroundMode": "solid_color", "backgroundColor": "#0000ff"},
    )
    assert queued.status_code == 202, queued.text
    kit.drain(client)
    assert api.wait_for(queued.json()["generationId"])["status"] == "completed"

    changed = api.get(f"/generations/{generation_id}/results").json()["poses"][0]
    after = set(kit.files())
    assert len(after) == len(before) - 1  # a new image and thumbnail; the export is made again
    assert len(before - after) == 3  # the old image, thumbnail and export
    assert all(client.get(url).status_code == 404 for url in old_urls)
    assert client.get(changed["imageUrl"]).status_code == 200
    assert client.get(changed["thumbnailUrl"]).status_code == 200
    assert changed["exports"] == {}


def test_a_failed_background_change_releases_its_credits(app_client: Any, kit: Any) -> None:
    failing = {"on": False}
    client = app_client(
        kit.provider_plugin(
            lambda: kit.FlakyProvider(LocalImageProvider(), lambda r: failing["on"])
        ),
        POSE_GENERATOR_PROVIDER="flaky",
    )
    api = kit.sign_up(client)
    generation_id = finished_generation(client, kit, api, count=1)
    pose = api.get(f"/generations/{generation_id}/results").json()["poses"][0]
    failing["on"] = True
    queued = api.post(
        f"/poses/{pose['id']}/background",
        json={"backgroundMode": "ai_generate", "backgroundPrompt": "a city at night"},
    )
    kit.drain(client)
    done = api.wait_for(queued.json()["generationId"])
    assert done["status"] == "failed"
    assert api.balance() == {"balance": 70, "held": 0, "available": 70}
    unchanged = api.get(f"/generations/{generation_id}/results").json()["poses"][0]
    assert unchanged["backgroundChanged"] is False
