"""``GET /library``, ``/library/{poseId}``, the pictures and ``/categories`` over HTTP."""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image
from starlette.testclient import TestClient

from lumiku_pose_generator.library_data import CATEGORIES, POSES
from lumiku_pose_generator.plugin import spec

PREFIX = spec.prefix
HIJAB = {c.slug for c in CATEGORIES if c.parent == "hijab"}


@pytest.fixture(scope="module")
def client(shared_app: TestClient) -> TestClient:
    """One app for the module: these tests read the library (and count uses only where the
    order does not matter)."""
    return shared_app


def library(client: TestClient, **params: Any) -> Any:
    response = client.get(f"{PREFIX}/library", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def all_poses(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    poses: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = library(client, limit=50, **params, **({"cursor": cursor} if cursor else {}))
        poses += page["poses"]
        cursor = page["nextCursor"]
        if cursor is None:
            return poses


def test_the_first_page_has_the_page_contract_and_a_total(client: TestClient) -> None:
    page = library(client)
    assert set(page) == {"poses", "nextCursor", "total"}
    assert page["total"] == 84
    assert len(page["poses"]) == 20
    pose = page["poses"][0]
    assert {"id", "categoryId", "name", "tags", "difficulty", "genderSuitability"} <= set(pose)
    assert {"isPremium", "isFeatured", "usageCount", "keypoints", "previewUrl"} <= set(pose)
    assert len(pose["keypoints"]) == 18
    assert pose["thumbnailUrl"] == f"{PREFIX}/library/{pose['id']}/images/thumbnail.png"


def test_paging_visits_every_pose_once(client: TestClient) -> None:
    poses = all_poses(client)
    assert len(poses) == 84
    assert {p["id"] for p in poses} == {p.id for p in POSES}


@pytest.mark.parametrize(
    ("params", "total"),
    [
        ({"category": "hijab"}, 13),
        ({"category": "wedding-hijab"}, 3),
        ({"category": "professional"}, 16),
        ({"category": "business-portraits"}, 4),
        ({"difficulty": "beginner"}, 49),
        ({"difficulty": "intermediate"}, 29),
        ({"difficulty": "advanced"}, 6),
        ({"gender": "unisex"}, 51),
        ({"gender": "male"}, 71),
        ({"gender": "female"}, 64),
        ({"featured": "true"}, 7),
        ({"featured": "false"}, 77),
        ({"category": "sports", "difficulty": "advanced"}, 2),
        ({"category": "hijab", "gender": "male"}, 0),
    ],
)
def test_filters(client: TestClient, params: dict[str, str], total: int) -> None:
    assert library(client, **params)["total"] == total
    assert len(all_poses(client, **params)) == total


def test_a_root_category_takes_its_childrens_poses(client: TestClient) -> None:
    poses = all_poses(client, category="hijab")
    assert {p["categoryId"] for p in poses} == HIJAB
    assert Counter(p["genderSuitability"] for p in poses) == {"female": 13}


def test_featured_filters_on_the_featured_flag_not_premium(client: TestClient) -> None:
    featured = all_poses(client, featured="true")
    assert all(p["isFeatured"] for p in featured)
    premium = {p.id for p in POSES if p.premium}
    assert {p["id"] for p in featured} != premium
    assert any(not p["isPremium"] for p in featured)


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("tree pose", {"yoga-wellness.tree-pose"}),
        ("TREE POSE", {"yoga-wellness.tree-pose"}),
        ("vrksasana", {"yoga-wellness.tree-pose"}),  # a tag only
        ("downward", {"yoga-wellness.downward-dog"}),
    ],
)
def test_search_by_name_or_tag(client: TestClient, search: str, expected: set[str]) -> None:
    assert {p["id"] for p in all_poses(client, search=search)} == expected


def test_search_finds_every_pose_with_a_tag(client: TestClient) -> None:
    expected = {p.id for p in POSES if "yoga" in " ".join((p.name, *p.tags)).lower()}
    assert len(expected) >= 4
    assert {p["id"] for p in all_poses(client, search="yoga")} == expected


@pytest.mark.parametrize("search", ["%", "_", "%%", "a%", "%a", "_a_", "\\", "\\%", "[a]", "'%'"])
def test_like_wildcards_in_a_search_are_literal(client: TestClient, search: str) -> None:
    page = library(client, search=search)
    assert page["total"] == 0
    assert page["poses"] == []


def test_a_search_with_a_literal_underscore_matches_only_that(client: TestClient, kit: Any) -> None:
    engine = kit.runtime(client).engine
    pose_id = POSES[5].id
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE pose_library SET search_text = :text WHERE id = :id"),
            {"text": "snake_case pose | under_score", "id": pose_id},
        )
    try:
        assert {p["id"] for p in all_poses(client, search="e_c")} == {pose_id}
        assert library(client, search="e%c")["total"] == 0
    finally:
        with engine.begin() as connection:
            from lumiku_pose_generator.seed import seed_library

            seed_library(connection)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "nope"}, "category"),
        ({"category": "HIJAB"}, "category"),
        ({"difficulty": "expert"}, "difficulty"),
        ({"gender": "other"}, "gender"),
        ({"featured": "maybe"}, "featured"),
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"search": "x" * 101}, "search"),
        ({"search": "a\x00b"}, "search"),
        ({"search": "   "}, "search"),
        ({"premium": "true"}, "premium"),
    ],
)
def test_bad_filters_are_422_in_the_common_shape(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    response = client.get(f"{PREFIX}/library", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]["fields"]


def test_a_forged_cursor_is_400(client: TestClient) -> None:
    response = client.get(f"{PREFIX}/library", params={"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_CURSOR"


def test_reading_a_pose_counts_a_use(client: TestClient) -> None:
    pose_id = POSES[10].id
    first = client.get(f"{PREFIX}/library/{pose_id}")
    second = client.get(f"{PREFIX}/library/{pose_id}")
    assert first.status_code == second.status_code == 200
    assert second.json()["usageCount"] == first.json()["usageCount"] + 1
    assert first.json()["name"] == POSES[10].name


@pytest.mark.parametrize("pose_id", ["nope", "business-portraits.nope", "%25", "x" * 300])
def test_an_unknown_pose_is_404(client: TestClient, pose_id: str) -> None:
    response = client.get(f"{PREFIX}/library/{pose_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("kind", "size"),
    [("preview", 768), ("reference", 768), ("control", 512), ("thumbnail", 400)],
)
def test_pictures_are_drawn_from_the_keypoints(client: TestClient, kind: str, size: int) -> None:
    url = f"{PREFIX}/library/{POSES[0].id}/images/{kind}.png"
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (size, size)
        pixels = image.convert("RGB")
        colours = {pixels.getpixel((x, y)) for x in range(0, size, 8) for y in range(0, size, 8)}
    assert len(colours) > 3  # a figure, not a blank placeholder
    if kind == "control":
        assert pixels.getpixel((2, 2)) == (0, 0, 0)
    again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_different_poses_have_different_control_maps(client: TestClient) -> None:
    first = client.get(f"{PREFIX}/library/{POSES[0].id}/images/control.png")
    second = client.get(f"{PREFIX}/library/{POSES[1].id}/images/control.png")
    assert first.content != second.content
    assert first.headers["etag"] != second.headers["etag"]


@pytest.mark.parametrize("path", ["nope/images/preview.png", f"{POSES[0].id}/images/other.png"])
def test_an_unknown_picture_is_404(client: TestClient, path: str) -> None:
    response = client.get(f"{PREFIX}/library/{path}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_categories_form_a_tree_with_counts(client: TestClient) -> None:
    response = client.get(f"{PREFIX}/categories")
    assert response.status_code == 200
    body = response.json()
    roots = body["categories"]
    assert body["totalPoses"] == 84
    assert [r["slug"] for r in roots] == [
        "professional",
        "e-commerce",
        "fashion",
        "hijab",
        "casual",
        "sports",
    ]
    assert sum(len(r["children"]) for r in roots) == 22
    counts = {r["slug"]: r["poseCount"] for r in roots}
    assert counts == {
        "professional": 16,
        "e-commerce": 15,
        "fashion": 12,
        "hijab": 13,
        "casual": 16,
        "sports": 12,
    }
    hijab = next(r for r in roots if r["slug"] == "hijab")
    assert [c["slug"] for c in hijab["children"]] == [
        "casual-hijab",
        "professional-hijab",
        "fashion-hijab",
        "wedding-hijab",
    ]
    assert {"icon", "color", "displayOrder", "parentId", "name"} <= set(hijab["children"][0])


def test_most_used_first_with_a_stable_tie_break(client: TestClient, kit: Any) -> None:
    engine = kit.runtime(client).engine
    low, tied_a, tied_b, top = sorted(p.id for p in POSES if p.category == "yoga-wellness")
    with engine.begin() as connection:
        for pose_id, count in ((low, 1000), (tied_a, 2000), (tied_b, 2000), (top, 3000)):
            connection.execute(
                sa.text("UPDATE pose_library SET usage_count = :n WHERE id = :id"),
                {"n": count, "id": pose_id},
            )
    ids = [p["id"] for p in all_poses(client, category="yoga-wellness")]
    assert ids == [top, tied_b, tied_a, low]
    one_by_one = []
    cursor = None
    while True:
        page = library(
            client, category="yoga-wellness", limit=1, **({"cursor": cursor} if cursor else {})
        )
        one_by_one += [p["id"] for p in page["poses"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert one_by_one == ids


def test_reads_of_a_pose_are_rate_limited_per_address(api_client: TestClient) -> None:
    url = f"{PREFIX}/library/{POSES[20].id}"
    statuses = [api_client.get(url).status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120
    refused = api_client.get(url)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert int(refused.headers["retry-after"]) > 0
    listed = api_client.get(f"{PREFIX}/library", params={"search": POSES[20].name})
    assert listed.json()["poses"][0]["usageCount"] == 120  # refused reads count nothing
