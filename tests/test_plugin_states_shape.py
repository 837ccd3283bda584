"""Every answer of every plugin state is in the common error shape or the shape its
operation declares: disabled and failed plugins included, their health routes, their
mounted routes, 404 and 405 under their prefixes. Checked against the served OpenAPI."""

from __future__ import annotations

import re
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema_rs
import pytest
from starlette.testclient import TestClient

from lumiku import Call, PluginContext, PluginSpec, get, hookimpl
from lumiku.plugins.discovery import discover
from lumiku.testing import OPERATOR_HEADERS

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
PASSWORD = "amber-violin-7-quartz"


def _hello(ctx: PluginContext) -> list[Any]:
    def hello(_call: Call[None, None]) -> dict[str, str]:
        """Say hello."""
        return {"plugin": ctx.id}

    return [get("/hello", hello)]


def _broken(plugin_id: str, **impls: Callable[..., Any]) -> PluginSpec:
    namespace = types.SimpleNamespace(
        **{name: hookimpl(fn) for name, fn in {"register_routes": _hello, **impls}.items()}
    )
    namespace.plugin = plugin_id
    return PluginSpec(id=plugin_id, hooks=namespace)  # type: ignore[arg-type]


def _raise_at_startup(ctx: PluginContext) -> None:
    raise RuntimeError("cannot reach the model server")


def _raise_routes(ctx: PluginContext) -> list[Any]:
    raise RuntimeError("routes table is broken")


class Contract:
    """The served OpenAPI document, matching answers to their declared shapes."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.operations = [
            (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "/?$"), path, entry)
            for path, entry in document["paths"].items()
        ]
        self._validators: dict[str, Any] = {}

    def schema_of(self, path: str, method: str, status: int) -> tuple[str, dict[str, Any]]:
        """Return ``(where, schema)`` the answer must match (``{}``: any body)."""
        for pattern, template, entry in self.operations:
            operation = entry.get(method.lower())
            if pattern.match(path) and operation is not None:
                responses = operation["responses"]
                response = responses.get(str(status), responses.get("default"))
                where = f"{method} {template} {status}"
                break
        else:  # no operation: an error in the common shape
            response = {"$ref": "#/components/responses/Error"}
            where = f"{method} {path} {status} (no operation)"
        if response is None:
            raise AssertionError(f"{where}: the status is not declared")
        if "$ref" in response:
            response = self.document["components"]["responses"][response["$ref"].split("/")[-1]]
        if "content" not in response:  # a success declared without a body schema
            assert status < 400, f"{where}: an error without a declared shape"
            return where, {}
        return where, response["content"]["application/json"]["schema"]

    def check(self, method: str, path: str, answer: Any) -> None:
        if answer.status_code in (204, 304) or method == "HEAD":
            return
        where, schema = self.schema_of(path, method, answer.status_code)
        assert answer.headers["content-type"].startswith("application/json"), where
        key = repr(schema)
        if key not in self._validators:
            root = {**schema, "components": self.document["components"]}
            self._validators[key] = jsonschema_rs.validator_for(root)
        errors = [error.message for error in self._validators[key].iter_errors(answer.json())]
        assert not errors, f"{where}: {answer.text[:300]} breaks its schema: {errors[:3]}"
        if answer.status_code >= 400 and "status" not in answer.json():
            assert set(answer.json()["error"]) == {"code", "message", "details"}, where


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """Every shipped plugin (payments disabled: no Duitku settings) and two failed ones."""
    return make_client(
        [
            *discover(),
            _broken("lkt_broken_startup", startup=_raise_at_startup),
            _broken("lkt_broken_routes", register_routes=_raise_routes),
        ]
    )


def requests(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield ``(method, path)``: every operation's path with every method, and the paths
    under the prefixes of disabled, failed and unknown plugins."""
    for path in document["paths"]:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in METHODS:
            yield method, concrete
    for prefix in (
        "/api/payments",
        "/api/apps/payments-duitku",
        "/api/apps/lkt-broken-startup",
        "/api/apps/lkt-broken-routes",
        "/api/apps/nobody",
        "/api/apps/avatar-creator",
    ):
        for tail in ("", "/", "/health", "/hello", "/nope", "/nope/deeper"):
            for method in METHODS:
                yield method, prefix + tail


def test_the_states_are_what_this_test_is_about(client: TestClient) -> None:
    plugins = {
        p["id"]: p["state"]
        for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    assert plugins["payments_duitku"] == "disabled"
    assert plugins["lkt_broken_startup"] == "failed"
    assert plugins["lkt_broken_routes"] == "failed"
    # A disabled plugin is not an outage of the node (200 "disabled"); a failed one is down.
    disabled = client.get("/api/apps/payments-duitku/health")
    assert (disabled.status_code, disabled.json()["status"]) == (200, "disabled")
    failed = client.get("/api/apps/lkt-broken-startup/health")
    assert (failed.status_code, failed.json()["status"]) == (503, "down")
    gated = client.get("/api/apps/lkt-broken-startup/hello")
    assert (gated.status_code, gated.json()["error"]["code"]) == (503, "PLUGIN_UNAVAILABLE")


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_every_answer_matches_the_common_or_declared_shape(
    client: TestClient, signed_in: bool
) -> None:
    document = client.get("/openapi.json").json()
    contract = Contract(document)
    headers: dict[str, str] = {}
    if signed_in:
        email = f"shape-{uuid.uuid4().hex[:8]}@example.com"
        token = client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD}
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
    statuses: set[int] = set()
    for method, path in requests(document):
        if path == "/api/auth/logout":
            continue  # would revoke the token the rest use
        answer = client.request(method, path, headers=headers)
        statuses.add(answer.status_code)
        assert answer.status_code < 500 or answer.status_code == 503, (method, path, answer.text)
        contract.check(method, path, answer)
    assert {404, 405, 503} <= statuses


def test_operator_health_reports_match_the_declared_shape(client: TestClient) -> None:
    contract = Contract(client.get("/openapi.json").json())
    for path in (
        "/health",
        "/health/liveness",
        "/health/readiness",
        "/health/detailed",
        "/api/apps/payments-duitku/health",
        "/api/apps/lkt-broken-startup/health",
        "/api/apps/lkt-broken-routes/health",
        "/api/apps/avatar-creator/health",
    ):
        for headers in ({}, OPERATOR_HEADERS):
            contract.check("GET", path, client.get(path, headers=headers))
