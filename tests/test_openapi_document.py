"""The served /openapi.json with the three shipped plugins, as a client generator reads it:
valid (openapi-spec-validator), short unique operation ids with summaries, public routes
``security: []``, a server, typed error details, the signed file link's parameters, and an
Idempotency-Key on every charged or creating POST (a retried create makes one project)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from lumiku.testing import sign_up

CHARGED_OR_CREATING = {201, 202}
AVATARS = "/api/apps/avatar-creator"


@pytest.fixture
def client(make_app: Any) -> Iterator[TestClient]:
    app = make_app(DUITKU_MERCHANT_CODE="D0001", DUITKU_API_KEY="document-test-key")
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, items in document["paths"].items():
        for method, operation in items.items():
            yield method.upper(), path, operation


def test_the_document_validates(document: dict[str, Any]) -> None:
    validate(document)
    assert document["servers"][0]["url"]


def test_operation_ids_are_short_unique_and_summarised(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _m, _p, operation in operations(document)]
    assert len(ids) == len(set(ids))
    for method, path, operation in operations(document):
        assert re.fullmatch(r"[a-z][A-Za-z]{2,40}", operation["operationId"]), (method, path)
        assert operation["summary"].strip(), (method, path)
    by_id = {operation["operationId"]: (m, p) for m, p, operation in operations(document)}
    assert by_id["login"] == ("POST", "/api/auth/login")
    assert by_id["getBalance"] == ("GET", "/api/credits/balance")
    assert by_id["listHistory"] == ("GET", "/api/credits/history")
    assert by_id["createAvatarProject"] == ("POST", f"{AVATARS}/projects")
    assert by_id["uploadAvatar"] == ("POST", f"{AVATARS}/projects/{{projectId}}/avatars/upload")
    assert by_id["createPayment"] == ("POST", "/api/payments")
    assert by_id["getFile"] == ("GET", "/files/{key}")


def test_every_operation_says_who_may_call_it(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        assert "security" in operation, (method, path)
    paths = document["paths"]
    assert paths["/api/auth/login"]["post"]["security"] == []
    assert paths["/health"]["get"]["security"] == []
    assert paths["/api/credits/balance"]["get"]["security"] == [{"bearer": []}]
    assert paths["/api/plugins"]["get"]["security"] == [{"bearer": []}]


def test_error_details_are_typed_and_statuses_declared(document: dict[str, Any]) -> None:
    details = document["components"]["schemas"]["ErrorDetails"]["properties"]
    assert details["fields"]["additionalProperties"] == {"type": "string"}
    assert details["required"]["type"] == details["available"]["type"] == "integer"
    paths = document["paths"]
    login = paths["/api/auth/login"]["post"]["responses"]
    assert {"401", "415", "422", "429"} <= set(login)
    assert "Retry-After" in document["components"]["responses"]["RateLimited"]["headers"]
    assert "409" in paths["/api/auth/register"]["post"]["responses"]
    upload = paths[f"{AVATARS}/projects/{{projectId}}/avatars/upload"]["post"]
    assert {"402", "404", "409", "415", "422"} <= set(upload["responses"])
    body = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    form = document["components"]["schemas"][body.split("/")[-1]]
    assert form["properties"]["image"] == {"type": "string", "format": "binary"}
    health = paths["/health"]["get"]["responses"]["200"]["content"]["application/json"]
    assert health["schema"]["properties"]["status"]["enum"] == ["up", "degraded", "down"]
    info = paths[f"{AVATARS}/info"]["get"]["responses"]["200"]["content"]["application/json"]
    assert info["schema"]


def test_the_file_link_declares_its_signature(document: dict[str, Any]) -> None:
    parameters = document["paths"]["/files/{key}"]["get"]["parameters"]
    assert {(p["name"], p["in"], p["required"]) for p in parameters} == {
        ("key", "path", True),
        ("expires", "query", True),
        ("signature", "query", True),
    }


def test_every_charged_or_creating_post_takes_an_idempotency_key(
    document: dict[str, Any],
) -> None:
    missing = []
    for method, path, operation in operations(document):
        if method != "POST" or not operation["security"]:
            continue  # anonymous: register (409 on a taken email), the payment callback
        statuses = {int(status) for status in operation["responses"] if status.isdigit()}
        if statuses & CHARGED_OR_CREATING or 402 in statuses:
            names = {parameter["name"] for parameter in operation["parameters"]}
            if "Idempotency-Key" not in names:
                missing.append(f"{method} {path}")
    assert missing == []


def test_a_retried_create_makes_one_project(client: TestClient) -> None:
    user = sign_up(client).at(AVATARS)
    headers = {**user.headers, "Idempotency-Key": "create-once-1"}
    first = client.post(f"{AVATARS}/projects", json={"name": "Once"}, headers=headers)
    again = client.post(f"{AVATARS}/projects", json={"name": "Once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    listed = user.get("/projects").json()
    assert [project["id"] for project in listed["projects"]] == [first.json()["id"]]
    other = client.post(f"{AVATARS}/projects", json={"name": "Other"}, headers=headers)
    assert other.status_code == 422  # the key with another body


def test_browsers_may_read_the_replay_and_limit_headers(make_app: Any) -> None:
    app = make_app(CORS_ORIGIN="https://app.example.com")
    with TestClient(app) as test_client:
        answer = test_client.get("/health", headers={"Origin": "https://app.example.com"})
    exposed = {
        h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")
    }
    assert {"idempotent-replayed", "retry-after", "x-ratelimit-remaining", "location"} <= exposed


def test_every_success_body_is_declared(document: dict[str, Any]) -> None:
    untyped = []
    for method, path, operation in operations(document):
        for status, answer in operation["responses"].items():
            if status.startswith("2") and status != "204" and "content" not in answer:
                untyped.append(f"{method} {path} {status}")
    assert untyped == []
