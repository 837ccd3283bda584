"""Pose requests: users' ``POST|GET /requests``, admins' review with validated transitions."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku_pose_generator.library_data import POSES


@pytest.fixture(scope="module")
def client(shared_app: TestClient) -> TestClient:
    """One app for the module; every test signs up its own users."""
    return shared_app


def unique(name: str) -> str:
    """Return ``name`` with a random suffix: tests share users, so names must not meet."""
    return f"{name} {uuid.uuid4().hex[:8]}"


def body(name: str = "Holding a Mug", **extra: Any) -> dict[str, Any]:
    return {"poseName": name, "description": "Both hands around a coffee mug.", **extra}


def submit(user: Any, name: str = "Holding a Mug", **extra: Any) -> dict[str, Any]:
    response = user.post("/requests", json=body(name, **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


def status_of(user: Any, request_id: str) -> str:
    """Return the status of one of ``user``'s requests, as they see it."""
    requests = user.get("/requests", params={"limit": 100}).json()["requests"]
    return str(next(r["status"] for r in requests if r["id"] == request_id))


def test_a_user_submits_and_lists_only_their_requests(
    client: TestClient, kit: Any, people: Any
) -> None:
    ana, bob = people.ana, people.bob
    created = submit(
        ana,
        category="yoga-wellness",
        useCase="Yoga studio ads",
        referenceImageUrl="https://example.com/pose.jpg",
    )
    assert created["status"] == "pending"
    assert created["category"] == "yoga-wellness"
    assert created["userId"] == ana.user_id
    mine = ana.get("/requests", params={"limit": 1}).json()
    assert [r["id"] for r in mine["requests"]] == [created["id"]]  # newest first
    theirs = bob.get("/requests", params={"limit": 100}).json()["requests"]
    assert created["id"] not in {r["id"] for r in theirs}
    assert all(r["userId"] == bob.user_id for r in theirs)


def test_a_second_open_request_with_the_same_name_is_409(
    client: TestClient, kit: Any, people: Any
) -> None:
    ana, bob = people.ana, people.bob
    name = unique("Holding a Mug")
    submit(ana, name)
    for same in (name, name.upper().replace(" ", "  "), f"  {name.lower()} "):
        response = ana.post("/requests", json=body(same))
        assert response.status_code == 409, same
        assert response.json()["error"]["code"] == "CONFLICT"
    submit(ana, name + " cup")  # another name
    submit(bob, name)  # another user


def test_a_closed_request_frees_its_name(client: TestClient, kit: Any, people: Any) -> None:
    ana, admin = people.ana, people.admin
    name = unique("Cartwheel")
    first = submit(ana, name)
    rejected = admin.post(f"/admin/requests/{first['id']}/reject", json={"notes": "Unsafe."})
    assert rejected.status_code == 200
    second = submit(ana, name)
    assert second["id"] != first["id"]


def test_concurrent_duplicates_create_one_request(
    client: TestClient, kit: Any, people: Any
) -> None:
    ana = people.ana
    name = unique("Race")
    with ThreadPoolExecutor(6) as pool:
        statuses = list(
            pool.map(lambda _: ana.post("/requests", json=body(name)).status_code, range(6))
        )
    assert sorted(statuses) == [201] + [409] * 5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"poseName": "x" * 101}, "poseName"),
        ({"poseName": "   "}, "poseName"),
        ({"description": "x" * 501}, "description"),
        ({"description": ""}, "description"),
        ({"poseName": "nul\x00name"}, "poseName"),
        ({"useCase": "nul\x00"}, "useCase"),
        ({"poseName": 5}, "poseName"),
        ({"category": "nope"}, "category"),
        ({"useCase": "x" * 501}, "useCase"),
        ({"referenceImageUrl": "javascript:alert(1)"}, "referenceImageUrl"),
        ({"referenceImageUrl": "ftp://example.com/a.jpg"}, "referenceImageUrl"),
        ({"referenceImageUrl": "https://"}, "referenceImageUrl"),
        ({"referenceImageUrl": "https://[::1/x"}, "referenceImageUrl"),
        ({"referenceImageUrl": "https://exa mple.com/x"}, "referenceImageUrl"),
        ({"referenceImageUrl": "https://x.com/" + "a" * 2048}, "referenceImageUrl"),
        ({"status": "completed"}, "status"),
    ],
)
def test_bad_requests_are_422(
    client: TestClient, kit: Any, people: Any, change: dict[str, Any], field: str
) -> None:
    user = people.bob
    response = user.post("/requests", json={**body("Valid"), **change})
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["details"]["fields"]


def test_requests_need_a_sign_in(client: TestClient, kit: Any, people: Any) -> None:
    assert client.post(f"{kit.prefix}/requests", json=body()).status_code == 401
    assert client.get(f"{kit.prefix}/requests").status_code == 401


ADMIN_ROUTES = (
    ("get", "/admin/requests", None),
    ("post", "/admin/requests/{id}/approve", None),
    ("post", "/admin/requests/{id}/in-progress", None),
    ("post", "/admin/requests/{id}/reject", {"notes": "no"}),
    ("post", "/admin/requests/{id}/completed", {"poseId": POSES[0].id}),
)


def test_admin_routes_refuse_users_and_anonymous(client: TestClient, kit: Any, people: Any) -> None:
    ana = people.ana
    request_id = submit(ana, unique("Guarded"))["id"]
    for method, path, payload in ADMIN_ROUTES:
        url = path.format(id=request_id)
        kwargs = {"json": payload} if payload is not None else {}
        as_user = getattr(ana, method)(url, **kwargs)
        assert as_user.status_code == 403, url
        assert as_user.json()["error"]["code"] == "FORBIDDEN"
        anonymous = getattr(client, method)(f"{kit.prefix}{url}", **kwargs)
        assert anonymous.status_code == 401, url
    assert status_of(ana, request_id) == "pending"


def test_no_admin_route_is_shadowed(client: TestClient, kit: Any, people: Any) -> None:
    """Every admin route reaches its handler: an unknown id is the handler's 404."""
    admin = people.admin
    for method, path, payload in ADMIN_ROUTES[1:]:
        kwargs = {"json": payload} if payload is not None else {}
        response = getattr(admin, method)(path.format(id="missing"), **kwargs)
        assert response.status_code == 404, path
        assert response.json()["error"]["message"] == "No such pose request."
    assert admin.get("/admin/requests").status_code == 200


def test_the_review_flow(client: TestClient, kit: Any, people: Any) -> None:
    ana, admin = people.ana, people.admin
    request_id = submit(ana, unique("Flow"))["id"]
    listed = admin.get("/admin/requests", params={"status": "pending", "limit": 100}).json()
    assert request_id in {r["id"] for r in listed["requests"]}

    approved = admin.post(f"/admin/requests/{request_id}/approve")
    assert approved.json()["status"] == "approved"
    assert approved.json()["reviewedAt"] is not None
    started = admin.post(f"/admin/requests/{request_id}/in-progress")
    assert started.json()["status"] == "in_progress"
    done = admin.post(
        f"/admin/requests/{request_id}/completed",
        json={"poseId": POSES[3].id, "notes": "Added."},
    )
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    assert done.json()["completedPoseId"] == POSES[3].id
    assert done.json()["adminNotes"] == "Added."
    assert status_of(ana, request_id) == "completed"


@pytest.mark.parametrize(
    ("path_to", "action", "payload"),
    [
        ((), "completed", {"poseId": POSES[0].id}),  # pending -> completed
        (("approve",), "approve", None),
        (("in-progress",), "approve", None),
        (("in-progress",), "in-progress", None),
        (("reject",), "approve", None),
        (("reject",), "reject", {"notes": "again"}),
        (("reject",), "in-progress", None),
        (("approve", "completed"), "reject", {"notes": "late"}),
        (("approve", "completed"), "in-progress", None),
        (("approve", "completed"), "completed", {"poseId": POSES[0].id}),
    ],
)
def test_illegal_transitions_are_409(
    client: TestClient,
    kit: Any,
    people: Any,
    path_to: tuple[str, ...],
    action: str,
    payload: dict[str, Any] | None,
) -> None:
    ana, admin = people.ana, people.admin
    request_id = submit(ana, unique("Illegal"))["id"]
    steps = {"reject": {"notes": "no"}, "completed": {"poseId": POSES[0].id}}
    for step in path_to:
        kwargs = {"json": steps[step]} if step in steps else {}
        assert admin.post(f"/admin/requests/{request_id}/{step}", **kwargs).status_code == 200
    kwargs = {"json": payload} if payload is not None else {}
    response = admin.post(f"/admin/requests/{request_id}/{action}", **kwargs)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "CONFLICT"


def test_reject_needs_notes_and_completed_needs_a_library_pose(
    client: TestClient, kit: Any, people: Any
) -> None:
    ana, admin = people.ana, people.admin
    request_id = submit(ana, unique("Needs"))["id"]
    for payload in ({}, {"notes": ""}, {"notes": "   "}):
        response = admin.post(f"/admin/requests/{request_id}/reject", json=payload)
        assert response.status_code == 422
        assert "notes" in response.json()["error"]["details"]["fields"]
    assert admin.post(f"/admin/requests/{request_id}/reject").status_code == 400
    for pose_id in ("nope", "", POSES[0].id + "x"):
        response = admin.post(f"/admin/requests/{request_id}/completed", json={"poseId": pose_id})
        assert response.status_code == 422
        assert "poseId" in response.json()["error"]["details"]["fields"]
    assert status_of(ana, request_id) == "pending"


def test_concurrent_reviews_let_one_win(client: TestClient, kit: Any, people: Any) -> None:
    ana, admin = people.ana, people.admin
    request_id = submit(ana, unique("Contested"))["id"]
    with ThreadPoolExecutor(4) as pool:
        statuses = list(
            pool.map(
                lambda _: admin.post(f"/admin/requests/{request_id}/approve").status_code,
                range(4),
            )
        )
    assert sorted(statuses) == [200, 409, 409, 409]
