"""HTTP conventions every route gets: 201 and 202 with Location, the full Allow on 405,
OPTIONS, tags defaulting to the plugin, and short unique operation ids."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from lumiku import Accepted, Call, delete, get, patch, post, put, route
from lumiku.http.openapi import build_openapi
from lumiku.http.operation_ids import derived_id
from lumiku.http.routing import PathRoute, group_routes
from lumiku.testing import OPERATOR_HEADERS

from .conftest import error_of, plugin_of


@attrs.frozen
class JobView:
    """Queued work."""

    id: str
    state: str


@attrs.frozen
class NewProject:
    """A project to create."""

    name: str


def project_routes(ctx: Any) -> list[Any]:
    def list_projects(_call: Call[None, None]) -> list[str]:
        """List projects."""
        return []

    def create_project(call: Call[NewProject, None]) -> dict[str, str]:
        """Create a project."""
        return {"name": call.body.name}

    def get_project(call: Call[None, None]) -> dict[str, str]:
        """Read a project."""
        return {"id": call.path["project_id"]}

    def update_project(call: Call[NewProject, None]) -> dict[str, str]:
        """Rename a project."""
        return {"id": call.path["project_id"], "name": call.body.name}

    def delete_project(_call: Call[None, None]) -> None:
        """Delete a project."""

    def render(call: Call[None, None]) -> Accepted[JobView]:
        """Queue a render."""
        return Accepted(JobView("j1", "queued"), status_url=f"jobs/{call.path['project_id']}")

    def render_elsewhere(_call: Call[None, None]) -> Accepted[JobView]:
        """Queue a render, polled at an absolute path."""
        return Accepted(JobView("j2", "queued"), status_url="/api/jobs/j2")

    def forgot_accepted(_call: Call[None, None]) -> JobView:
        """Declared 202 but answers a plain body."""
        return JobView("j3", "queued")

    one = "/projects/{project_id}"
    return [
        get("/projects", list_projects, response=list[str]),
        post("/projects", create_project, body=NewProject, status=201, tags=("projects",)),
        get(one, get_project),
        put(one, update_project, body=NewProject),
        delete(one, delete_project, status=204),
        post(one + "/render", render, status=202, response=JobView),
        post("/elsewhere", render_elsewhere, status=202, response=JobView),
        post("/forgot", forgot_accepted, status=202, response=JobView),
    ]


BASE = "/api/apps/lkt-projects"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client([plugin_of("lkt_projects", project_routes)])


def test_a_create_is_201(client: TestClient) -> None:
    response = client.post(f"{BASE}/projects", json={"name": "a"})
    assert (response.status_code, response.json()) == (201, {"name": "a"})
    assert client.delete(f"{BASE}/projects/p1").status_code == 204


def test_queued_work_is_202_with_a_status_url(client: TestClient) -> None:
    response = client.post(f"{BASE}/projects/p1/render")
    assert response.status_code == 202
    assert response.json() == {"id": "j1", "state": "queued"}
    assert response.headers["location"] == f"{BASE}/jobs/p1"  # relative: under the mount
    elsewhere = client.post(f"{BASE}/elsewhere")
    assert elsewhere.headers["location"] == "/api/jobs/j2"


def test_a_202_route_that_answers_a_plain_body_is_a_logged_500(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    error_of(client.post(f"{BASE}/forgot"), 500, "INTERNAL_ERROR")
    assert "plugin lkt_projects POST /forgot" in caplog.text


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    for method in ("PATCH", "POST"):
        response = client.request(method, f"{BASE}/projects/p1")
        error_of(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"] == "GET, HEAD, PUT, DELETE, OPTIONS"
    core = client.patch("/api/auth/profile")
    error_of(core, 405, "METHOD_NOT_ALLOWED")
    assert core.headers["allow"] == "GET, HEAD, PUT, OPTIONS"


def test_options_answers_204_with_allow(client: TestClient) -> None:
    response = client.options(f"{BASE}/projects")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, HEAD, POST, OPTIONS"
    assert client.head(f"{BASE}/projects/p1").status_code == 200


def test_grouping_keeps_the_order_of_paths_and_the_first_route_of_a_method() -> None:
    def first(_call: Call[None, None]) -> str:
        return "first"

    def second(_call: Call[None, None]) -> str:
        return "second"

    routes = group_routes([get("/a", first), get("/{x}", first), post("/a", second)])
    assert [type(item) for item in routes] == [PathRoute, PathRoute]
    assert [item.path for item in routes if isinstance(item, Route)] == ["/a", "/{x}"]
    grouped = routes[0]
    assert isinstance(grouped, PathRoute)
    assert set(grouped.members) == {"GET", "HEAD", "POST"}
    again = group_routes([grouped, get("/a", second), patch("/a", second)])
    assert isinstance(again[0], PathRoute)
    assert again[0].members["GET"].endpoint_spec.handler is first  # type: ignore[attr-defined]
    assert "PATCH" in again[0].members


def test_tags_default_to_the_plugin_and_operation_ids_to_the_handler(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    operations = document["paths"][f"{BASE}/projects"]
    assert operations["get"]["tags"] == ["lkt_projects"]
    assert operations["post"]["tags"] == ["projects"]
    assert operations["get"]["operationId"] == "listLktProjects"
    assert operations["post"]["operationId"] == "createLktProject"
    one = document["paths"][f"{BASE}/projects/{{projectId}}"]
    assert {op["operationId"] for op in one.values()} == {
        "getLktProject",
        "updateLktProject",
        "deleteLktProject",
    }
    core = document["paths"]["/api/plugins"]["get"]
    assert core["operationId"] == "listPlugins"
    assert document["paths"]["/api/auth/profile"]["put"]["operationId"] == "updateProfile"


def test_an_operation_id_clash_fails_loudly() -> None:
    def show(_call: Call[None, None]) -> None:
        return None

    routes = [get("/a", show), get("/b", show)]
    with pytest.raises(ValueError, match="operationId 'getShow' is used by GET /a and GET /b"):
        build_openapi(routes, title="t", version="1")
    named = [get("/a", show), get("/b", show, operation_id="showB")]
    assert build_openapi(named, title="t", version="1")["paths"]["/b"]["get"]["operationId"] == (
        "showB"
    )
    legacy = [get("/a", show), get("/b", show, name="showB")]  # name= still names it
    assert build_openapi(legacy, title="t", version="1")["paths"]["/b"]["get"]["operationId"] == (
        "showB"
    )


@pytest.mark.parametrize(
    ("handler", "plugin", "expected"),
    [
        ("create_project", "avatar_creator", "createAvatarProject"),
        ("get_avatar", "avatar_creator", "getAvatar"),
        ("list_avatars", "avatar_creator", "listAvatars"),
        ("generate", "avatar_creator", "generateAvatar"),
        ("info", "pose_generator", "getPoseInfo"),
        ("list_methods", "payments_duitku", "listPaymentMethods"),
        ("create_payment", "payments_duitku", "createPayment"),
        ("balance", None, "getBalance"),
        ("update_profile", None, "updateProfile"),
        ("login", None, "login"),
    ],
)
def test_operation_ids_are_verb_noun_rest(handler: str, plugin: str | None, expected: str) -> None:
    assert derived_id(handler, plugin) == expected


def test_two_plugins_sharing_a_derived_id_take_the_qualified_form() -> None:
    def get_project(_call: Call[None, None]) -> None:
        return None

    routes = [
        Mount("/a", routes=[get("/p", get_project)], name="avatar_creator"),
        Mount("/b", routes=[get("/p", get_project)], name="avatar_editor"),
    ]
    paths = build_openapi(routes, title="t", version="1")["paths"]
    assert paths["/a/p"]["get"]["operationId"] == "avatarCreatorGetProject"
    assert paths["/b/p"]["get"]["operationId"] == "avatarEditorGetProject"


def test_a_declaration_is_checked() -> None:
    def handler(_call: Call[None, None]) -> None:
        return None

    with pytest.raises(ValueError, match=r"errors=\[418\] are not statuses of the error tree"):
        post("/x", handler, errors=(402, 418))
    with pytest.raises(ValueError, match="status is one of"):
        post("/x", handler, status=302)
    with pytest.raises(ValueError, match="the method is one of"):
        route("TRACE", "/x", handler)


def root_routes(ctx: Any) -> list[Any]:
    def create_order(_call: Call[NewProject, None]) -> dict[str, str]:
        """Create an order at the plugin's root."""
        return {"created": "yes"}

    def list_orders(_call: Call[None, None]) -> list[str]:
        """List orders."""
        return []

    return [post("/", create_order, body=NewProject, status=201), get("/", list_orders)]


def test_a_plugins_root_route_is_served_at_its_prefix_without_a_redirect(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client([plugin_of("lkt_rooted", root_routes)])
    for path in ("/api/apps/lkt-rooted", "/api/apps/lkt-rooted/"):
        created = client.post(path, json={"name": "x"}, follow_redirects=False)
        assert (created.status_code, created.json()) == (201, {"created": "yes"})
        assert client.get(path, follow_redirects=False).json() == []
    assert client.get("/api/apps/lkt-rootedx", follow_redirects=False).status_code == 404
    document = client.get("/openapi.json").json()
    assert set(document["paths"]["/api/apps/lkt-rooted"]) == {"get", "post"}
    assert "/api/apps/lkt-rooted/" not in document["paths"]
    plugin = {
        p["id"]: p for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }["lkt_rooted"]
    assert "POST /api/apps/lkt-rooted" in plugin["routes"]
