"""The HTTP edge: one error shape, 400 for malformed JSON on every route that takes a body,
422 with field details, 404/405/413/500 in the common shape, and an OpenAPI 3.1 document
that covers every route (plugin routes included)."""

from __future__ import annotations

import json
import logging
import re
import types
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from lumiku import Call, PluginContext, PluginSpec, field, get, hookimpl, post, put
from lumiku.http.openapi import openapi_path, walk_routes
from lumiku.plugins.discovery import discover
from lumiku.testing import OPERATOR_HEADERS

PASSWORD = "Edge-tests-7f3kQ-pw-9xLm"
MALFORMED = [b"{not json", b'{"name": "x"', b"", b"   ", b"\xff\xfe{}", b"{'single': 'quotes'}"]


@attrs.frozen
class ItemBody:
    """An item to store."""

    name: str = field(min_length=1, max_length=20)
    count: int = field(ge=1, le=10)
    tags: list[str] = field(factory=list, max_items=3)
    colour: str = field(default="red", choices=("red", "green"))


@attrs.frozen
class ItemView:
    """A stored item."""

    name: str
    count: int
    owner_id: str | None


@attrs.frozen
class SearchQuery:
    """Search parameters."""

    page: int = field(default=1, ge=1)
    exact: bool = False


def edge_routes(ctx: PluginContext) -> list[Any]:
    def create(call: Call[ItemBody, None]) -> ItemView:
        """Store an item."""
        return ItemView(call.body.name, call.body.count, call.user_id)

    async def replace(call: Call[ItemBody, None]) -> ItemView:
        """Replace an item (admins only)."""
        return ItemView(call.body.name, int(call.path["item_id"]), call.user_id)

    def public(call: Call[ItemBody, None]) -> ItemView:
        """Echo an item without signing in."""
        return ItemView(call.body.name, call.body.count, None)

    def search(call: Call[None, SearchQuery]) -> dict[str, Any]:
        """Search items."""
        return {"page": call.query.page, "exact": call.query.exact}

    def boom(_call: Call[None, None]) -> None:
        """Fail unexpectedly."""
        raise RuntimeError("db password is hunter2-internal")

    async def raw_boom(_request: Request) -> Response:
        """Fail in an undeclared route."""
        raise ValueError("raw internals exposed")

    return [
        post(
            "/items",
            create,
            body=ItemBody,
            response=ItemView,
            status=201,
            auth="user",
            idempotent=True,
        ),
        put("/items/{item_id:int}", replace, body=ItemBody, response=ItemView, auth="admin"),
        post("/public", public, body=ItemBody, response=ItemView),
        get("/search", search, query=SearchQuery),
        get("/boom", boom),
        Route("/raw-boom", raw_boom, methods=["GET"]),
    ]


EDGE = PluginSpec(
    id="lkt_edge",
    hooks=types.SimpleNamespace(register_routes=hookimpl(edge_routes)),  # type: ignore[arg-type]
)


@pytest.fixture
def client(make_app: Callable[..., Any]) -> Iterator[TestClient]:
    """An app with the installed plugins plus ``lkt_edge``; Duitku configured so it runs."""
    app = make_app(
        [*discover(), EDGE],
        DUITKU_MERCHANT_CODE="D0001",
        DUITKU_API_KEY="edge-test-duitku-key",
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def admin_token(client: TestClient) -> str:
    auth = client.app.state.runtime.auth  # type: ignore[attr-defined]
    auth.create_user("admin@example.test", PASSWORD, "admin")
    _user, token = auth.login("admin@example.test", PASSWORD, None)
    return str(token.token)


def body_routes(client: TestClient) -> list[tuple[str, str]]:
    """Return ``(method, concrete path)`` of every declared route that reads a JSON body."""
    found = []
    for path, route in walk_routes(client.app.routes):  # type: ignore[attr-defined]
        spec = getattr(route, "endpoint_spec", None)
        if spec is None or spec.body is None:
            continue
        found.append((spec.method, re.sub(r"{[^}]+}", "1", path)))
    return found


def assert_error_shape(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


def test_malformed_json_to_every_route_with_a_body_is_400(client: TestClient) -> None:
    routes = body_routes(client)
    assert ("POST", "/api/apps/lkt-edge/items") in routes
    assert ("PUT", "/api/apps/lkt-edge/items/1") in routes
    assert ("POST", "/api/auth/register") in routes
    headers = {
        "Authorization": f"Bearer {admin_token(client)}",
        "Content-Type": "application/json",
        "Idempotency-Key": "malformed-json",
    }
    for method, path in routes:
        for payload in MALFORMED:
            response = client.request(method, path, content=payload, headers=headers)
            error = assert_error_shape(response, 400, "INVALID_JSON")
            assert "JSON" in error["message"], (method, path, payload)
    metrics = client.get("/metrics", headers=OPERATOR_HEADERS).text
    parse_errors = re.search(r"^lumiku_json_parse_errors_total (\S+)$", metrics, re.MULTILINE)
    assert parse_errors is not None
    assert float(parse_errors.group(1)) >= len(routes) * 4


def test_authentication_comes_before_the_body(client: TestClient) -> None:
    # The body of an anonymous request is never read: malformed or not, it is a 401.
    response = client.post("/api/apps/lkt-edge/items", content=b"{oops")
    assert_error_shape(response, 401, "UNAUTHORIZED")
    signed_in = {"Authorization": f"Bearer {admin_token(client)}"}
    response = client.post("/api/apps/lkt-edge/items", content=b"{oops", headers=signed_in)
    assert_error_shape(response, 400, "INVALID_JSON")
    response = client.post("/api/apps/lkt-edge/items", json={"name": "a", "count": 1})
    assert_error_shape(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == "Bearer"


VIOLATIONS: list[tuple[Any, dict[str, str]]] = [
    ({"count": 1}, {"name": "is required"}),
    ({"name": "a", "count": "5"}, {"count": "expected an integer, got a string"}),
    ({"name": "a", "count": 1.5}, {"count": "expected an integer, got a number"}),
    ({"name": "a", "count": 0}, {"count": "must be at least 1"}),
    ({"name": "", "count": 1}, {"name": "must be at least 1 character"}),
    ({"name": "a", "count": 1, "colour": "blue"}, {"colour": "must be one of red, green"}),
    (
        {"name": "a", "count": 1, "tags": ["a", "b", "c", "d"]},
        {"tags": "must have at most 3 items"},
    ),
    ({"name": "a", "count": 1, "tags": [1]}, {"tags[0]": "expected a string, got an integer"}),
    ({"name": "a", "count": 1, "admin": True}, {"admin": "is not an accepted field"}),
    ({"name": "a", "count": 1, "extra": {"deep": 1}}, {"extra": "is not an accepted field"}),
    ([{"name": "a", "count": 1}], {"request body": "expected an object, got an array"}),
    ("just a string", {"request body": "expected an object, got a string"}),
    (None, {"request body": "expected an object, got null"}),
    ({"name": "a", "count": 1, "tags": "abc"}, {"tags": "expected an array, got a string"}),
    ({"name": "a", "count": 2**63}, {"count": "must be a 64-bit integer"}),
]


def test_a_schema_violation_is_422_naming_the_fields(client: TestClient) -> None:
    for payload, fields in VIOLATIONS:
        response = client.post(
            "/api/apps/lkt-edge/public",
            content=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )
        error = assert_error_shape(response, 422, "VALIDATION_ERROR")
        assert error["details"]["fields"] == fields, payload
        for name in fields:
            assert name in error["message"], payload


def test_every_type_problem_of_a_body_is_reported_at_once(client: TestClient) -> None:
    # Type errors are collected field by field; the rules of ``field`` run once the types
    # are right (attrs validators run in the constructor).
    response = client.post("/api/apps/lkt-edge/public", json={"count": "x", "tags": 3, "extra": 1})
    error = assert_error_shape(response, 422, "VALIDATION_ERROR")
    assert set(error["details"]["fields"]) == {"name", "count", "tags", "extra"}


def test_a_valid_body_reaches_the_handler(client: TestClient) -> None:
    response = client.post("/api/apps/lkt-edge/public", json={"name": "lamp", "count": 2})
    assert (response.status_code, response.json()) == (
        200,
        {"name": "lamp", "count": 2, "ownerId": None},
    )
    token = admin_token(client)
    replaced = client.put(
        "/api/apps/lkt-edge/items/7",
        json={"name": "lamp", "count": 2},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert replaced.status_code == 200
    assert replaced.json()["count"] == 7


def test_query_strings_are_checked_too(client: TestClient) -> None:
    assert client.get("/api/apps/lkt-edge/search?page=3&exact=true").json() == {
        "page": 3,
        "exact": True,
    }
    error = assert_error_shape(
        client.get("/api/apps/lkt-edge/search?page=zero"), 422, "VALIDATION_ERROR"
    )
    assert set(error["details"]["fields"]) == {"page"}
    error = assert_error_shape(
        client.get("/api/apps/lkt-edge/search?page=0"), 422, "VALIDATION_ERROR"
    )
    assert error["details"]["fields"] == {"page": "must be at least 1"}


def test_unknown_routes_and_methods_answer_in_the_error_shape(client: TestClient) -> None:
    assert_error_shape(client.get("/api/nothing-here"), 404, "NOT_FOUND")
    assert_error_shape(client.get("/api/apps/lkt-edge/nothing"), 404, "NOT_FOUND")
    assert_error_shape(client.get("/api/apps/lkt-edge/items"), 405, "METHOD_NOT_ALLOWED")
    assert_error_shape(client.delete("/api/plugins"), 405, "METHOD_NOT_ALLOWED")


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:
    huge = b'{"name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = client.post(
        "/api/apps/lkt-edge/public", content=huge, headers={"Content-Type": "application/json"}
    )
    assert_error_shape(response, 413, "PAYLOAD_TOO_LARGE")


def test_an_exception_in_a_plugin_route_is_a_500_without_details(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    for path, leak in (("boom", "hunter2-internal"), ("raw-boom", "raw internals")):
        caplog.clear()
        response = client.get(f"/api/apps/lkt-edge/{path}")
        error = assert_error_shape(response, 500, "INTERNAL_ERROR")
        assert error["details"] == {}
        assert leak not in response.text
        assert "Traceback" not in response.text
        assert "plugin lkt_edge" in caplog.text  # the log line names the plugin
        assert leak in caplog.text
    assert client.get("/health").status_code == 200
    metrics = client.get("/metrics", headers=OPERATOR_HEADERS).text
    assert 'lumiku_route_errors_total{plugin="lkt_edge"} 2.0' in metrics


# -- OpenAPI -----------------------------------------------------------------------------


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_the_openapi_document_covers_every_route(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"]
    assert document["info"]["version"]
    expected = set()
    for path, route in walk_routes(client.app.routes):  # type: ignore[attr-defined]
        assert isinstance(route, Route)
        if not route.include_in_schema:
            continue  # a page, not an API (the console's /console redirect)
        for method in (route.methods or {"GET"}) - {"HEAD"}:
            expected.add((openapi_path(path), method.lower()))
    documented = {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
    assert expected <= documented
    assert ("/api/apps/lkt-edge/items", "post") in documented
    assert ("/api/apps/lkt-edge/raw-boom", "get") in documented
    assert ("/api/apps/avatar-creator/health", "get") in documented
    assert ("/api/payments/health", "get") in documented
    assert ("/api/plugins", "get") in documented

    operation_ids = [
        operation["operationId"]
        for operations in document["paths"].values()
        for operation in operations.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))
    for ref in _refs(document):
        kind, name = ref.removeprefix("#/components/").split("/")
        assert name in document["components"][kind], ref
    for path, operations in document["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, operation)
            assert operation["responses"]


def test_the_openapi_document_describes_bodies_auth_and_rules(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    create = document["paths"]["/api/apps/lkt-edge/items"]["post"]
    assert create["summary"] == "Store an item."
    assert create["security"] == [{"bearer": []}]
    assert {"201", "400", "401", "422", "500"} <= set(create["responses"])
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert schema["required"] == ["name", "count"]
    assert schema["properties"]["count"] == {
        "type": "integer",
        "format": "int64",
        "minimum": 1,
        "maximum": 10,
    }
    assert schema["additionalProperties"] is False
    assert schema["properties"]["colour"]["enum"] == ["red", "green"]
    assert schema["properties"]["tags"]["maxItems"] == 3
    replace = document["paths"]["/api/apps/lkt-edge/items/{itemId}"]["put"]
    assert replace["parameters"][0] == {
        "name": "itemId",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "format": "int64", "minimum": 0},
    }
    assert "403" in replace["responses"]
    view_ref = create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    view = document["components"]["schemas"][view_ref.rsplit("/", 1)[1]]
    assert set(view["properties"]) == {"name", "count", "ownerId"}
    search = document["paths"]["/api/apps/lkt-edge/search"]["get"]
    assert {p["name"]: p["in"] for p in search["parameters"]} == {"page": "query", "exact": "query"}


def test_cors_follows_cors_origin(make_client: Callable[..., TestClient]) -> None:
    client = make_client([], CORS_ORIGIN="https://app.example.com")
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = client.options(
        "/api/auth/login", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    refused = client.options(
        "/api/auth/login", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in refused.headers
    simple = client.get("/health", headers={"Origin": "https://app.example.com"})
    assert simple.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "retry-after" in simple.headers["access-control-expose-headers"].lower()
