"""/openapi.json declares every status a route can answer, its headers and every rule."""

from __future__ import annotations

from typing import Any

import attrs

from lumiku import Call, RateLimit, field, get, post
from lumiku.http.endpoint import for_plugin
from lumiku.http.openapi import build_openapi


@attrs.frozen
class Body:
    """A body with rules."""

    code: str = field(pattern=r"[a-z]+|[0-9]+", min_length=2, strip=True)
    mode: str | None = field(default=None, choices=("a", "b"))


def handler(_call: Call[Any, Any]) -> None:
    """Do it."""


def document(*routes: Any) -> dict[str, Any]:
    return build_openapi(list(routes), title="t", version="1")


def statuses(doc: dict[str, Any], path: str, method: str) -> set[str]:
    return set(doc["paths"][path][method]["responses"])


def test_each_declared_feature_adds_its_statuses() -> None:
    doc = document(
        get("/plain", handler, name="plain"),
        post("/body", handler, body=Body, name="body"),
        get("/items/{item_id}", handler, name="item"),
        get("/mine", handler, auth="user", name="mine"),
        post("/admin", handler, auth="admin", name="admin"),
        post("/charged", handler, auth="user", idempotent=True, errors=(402,), name="charged"),
        get("/limited", handler, rate_limits=(RateLimit("1/minute"),), name="limited"),
        for_plugin(get("/plugin", handler, name="plugin"), "lkt_x"),
    )
    assert statuses(doc, "/plain", "get") == {"200", "204", "500"}
    assert statuses(doc, "/body", "post") == {
        *("200", "204", "400", "413", "415", "422", "500"),
        "503",  # the body budget
    }
    assert statuses(doc, "/items/{itemId}", "get") == {"200", "204", "400", "404", "500"}
    # 400: an Authorization or Idempotency-Key header that is not UTF-8
    assert statuses(doc, "/mine", "get") == {"200", "204", "400", "401", "500"}
    assert statuses(doc, "/admin", "post") == {"200", "204", "400", "401", "403", "500"}
    charged = {"200", "204", "400", "401", "402", "409", "422", "500"}
    assert statuses(doc, "/charged", "post") == charged
    assert statuses(doc, "/limited", "get") == {"200", "204", "429", "500"}
    assert statuses(doc, "/plugin", "get") == {"200", "204", "500", "503"}


def test_response_headers_are_declared() -> None:
    doc = document(
        post("/queued", handler, status=202, auth="user", idempotent=True, name="queued"),
        get("/limited", handler, rate_limits=(RateLimit("1/minute"),), name="limited"),
    )
    queued = doc["paths"]["/queued"]["post"]["responses"]["202"]["headers"]
    assert queued["Location"]["required"] is True
    assert queued["Idempotent-Replayed"]["schema"] == {"type": "string", "enum": ["true"]}
    limited = doc["paths"]["/limited"]["get"]["responses"]
    assert set(limited["200"]["headers"]) == {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
    }
    assert limited["429"] == {"$ref": "#/components/responses/RateLimited"}
    responses = doc["components"]["responses"]
    assert responses["RateLimited"]["headers"]["Retry-After"]["required"] is True
    assert responses["Unauthorized"]["headers"]["WWW-Authenticate"]["required"] is True


def test_the_error_shape_is_typed() -> None:
    schemas = document(get("/plain", handler))["components"]["schemas"]
    error = schemas["ErrorBody"]["properties"]["error"]
    assert error["additionalProperties"] is False
    assert error["required"] == ["code", "message", "details"]
    details = schemas["ErrorDetails"]
    assert details["properties"]["fields"]["additionalProperties"] == {"type": "string"}
    assert details["additionalProperties"] is True


def test_schemas_are_closed_and_carry_every_rule() -> None:
    doc = document(post("/body", handler, body=Body))
    schema = doc["components"]["schemas"]["Body"]
    assert schema["additionalProperties"] is False
    code = schema["properties"]["code"]
    assert code["pattern"] == "^(?:[a-z]+|[0-9]+)$"  # the server matches in full
    assert code["minLength"] == 2
    assert "without surrounding spaces" in code["description"]
    mode = schema["properties"]["mode"]
    assert mode["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert mode["enum"] == ["a", "b", None]  # null is accepted for an optional field
