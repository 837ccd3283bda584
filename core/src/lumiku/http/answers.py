"""Which statuses and headers a declared route can answer with, for the OpenAPI document.

The statuses follow from the declaration: a body can be unreadable (400), too large (413),
of the wrong media type (415) or break the schema (422); a query can break its schema (422)
or not be UTF-8 (400); a path parameter can name nothing (404); ``auth`` adds 401 (and 403
for admins); ``idempotent`` adds 409 and 422 (a key in flight or reused); rate limits 429; a
plugin route 503 (the plugin is not serving); every route 500. ``errors=`` adds what the
handler itself raises (402 for charged work, 404, 409, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lumiku.http.endpoint import Endpoint

_INTEGER = {"type": "integer"}
RATE_LIMIT_HEADERS: dict[str, Any] = {
    "X-RateLimit-Limit": {"description": "Requests allowed in the window", "schema": _INTEGER},
    "X-RateLimit-Remaining": {"description": "Requests left in the window", "schema": _INTEGER},
    "X-RateLimit-Reset": {
        "description": "When the window resets, in Unix seconds",
        "schema": _INTEGER,
    },
}

# status -> (component name, description, required headers)
_RESPONSES: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: (
        "BadRequest",
        "The request cannot be read: malformed JSON or multipart, or text that is not UTF-8",
        {},
    ),
    401: (
        "Unauthorized",
        "No valid bearer token was sent",
        {"WWW-Authenticate": {"required": True, "schema": {"type": "string", "enum": ["Bearer"]}}},
    ),
    402: ("InsufficientCredits", "The account's available credits do not cover the action", {}),
    403: ("Forbidden", "The caller may not do this (admins only)", {}),
    404: ("NotFound", "The resource does not exist, or belongs to someone else", {}),
    409: (
        "Conflict",
        "The request conflicts with the current state (or its Idempotency-Key is in flight)",
        {},
    ),
    413: ("PayloadTooLarge", "The body, or one of its files, is over its size limit", {}),
    415: ("UnsupportedMediaType", "The body was sent with another Content-Type", {}),
    422: (
        "ValidationError",
        "The request breaks the schema; details.fields names every failing field",
        {},
    ),
    429: (
        "RateLimited",
        "Too many requests; retry after Retry-After seconds",
        {
            "Retry-After": {
                "required": True,
                "description": "Seconds to wait before retrying",
                "schema": _INTEGER,
            },
            **RATE_LIMIT_HEADERS,  # sent by route limits; the login throttle has no window
        },
    ),
    500: ("InternalError", "An unexpected error; it was logged", {}),
    503: (
        "Unavailable",
        "A dependency or the plugin is not serving (PLUGIN_UNAVAILABLE names the reason), or "
        "the server is at a capacity limit (SERVER_BUSY, IMAGE_DECODING_BUSY, with "
        "Retry-After)",
        {
            "Retry-After": {
                "required": False,
                "description": "Seconds to wait before retrying (capacity limits)",
                "schema": _INTEGER,
            }
        },
    ),
}


def error_statuses(endpoint: Endpoint, *, has_path_params: bool) -> list[int]:
    """Return the error statuses ``endpoint`` can answer, sorted."""
    statuses = {500, *endpoint.errors}
    if endpoint.takes_body:
        statuses |= {400, 413, 415, 422}
    if endpoint.query is not None:
        statuses |= {400, 422}
    if has_path_params:
        statuses |= {400, 404}
    if endpoint.auth:
        statuses |= {400, 401}  # 400: an Authorization header that is not UTF-8
        if endpoint.auth == "admin":
            statuses.add(403)
    if endpoint.idempotent:
        statuses |= {400, 409, 422}  # 400: an Idempotency-Key that is not UTF-8
    if endpoint.rate_limits:
        statuses.add(429)
    if endpoint.plugin_id is not None or endpoint.takes_body:
        statuses.add(503)  # the plugin is not serving; the process's body budget is full
    return sorted(statuses)


def error_response_ref(status: int) -> dict[str, Any]:
    """Return the ``$ref`` of the response component for an error status."""
    return {"$ref": f"#/components/responses/{_RESPONSES[status][0]}"}


def error_response_components() -> dict[str, Any]:
    """Return ``components.responses``: one per error status, plus ``Error`` for the rest."""
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    components: dict[str, Any] = {
        "Error": {"description": "An error in the common shape", "content": content}
    }
    for name, description, headers in _RESPONSES.values():
        components[name] = {"description": description, "content": content}
        if headers:
            components[name]["headers"] = headers
    return components


def error_schemas() -> dict[str, Any]:
    """Return the schemas of the common error shape (``ErrorBody`` and ``ErrorDetails``)."""
    return {
        "ErrorBody": {
            "type": "object",
            "required": ["error"],
            "additionalProperties": False,
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message", "details"],
                    "additionalProperties": False,
                    "properties": {
                        "code": {"type": "string", "description": "e.g. VALIDATION_ERROR"},
                        "message": {"type": "string", "description": "what is wrong, for people"},
                        "details": {"$ref": "#/components/schemas/ErrorDetails"},
                    },
                }
            },
        },
        "ErrorDetails": {
            "type": "object",
            "description": "Machine-readable details; which keys appear depends on the error code",
            "properties": {
                "fields": {
                    "type": "object",
                    "description": "422: field path (camelCase, e.g. items[2].name) -> what is "
                    "wrong",
                    "additionalProperties": {"type": "string"},
                },
                "required": {
                    "type": "integer",
                    "description": "402: credits the action needs",
                },
                "available": {
                    "type": "integer",
                    "description": "402: credits the account has available",
                },
                "retryAfter": {
                    "type": "integer",
                    "description": "429 (and some 503): seconds to wait, as Retry-After",
                },
                "reason": {"type": "string", "description": "why, as a short code or text"},
                "plugin": {"type": "string", "description": "503: the plugin that is not serving"},
                "idempotencyKey": {
                    "type": "string",
                    "description": "409/422: the Idempotency-Key concerned",
                },
            },
            "additionalProperties": True,
        },
    }


def success_headers(endpoint: Endpoint) -> dict[str, Any]:
    """Return the headers of the success response of ``endpoint``."""
    headers: dict[str, Any] = {}
    if endpoint.status == 202:
        headers["Location"] = {
            "required": True,
            "description": "Where to poll the status of the queued work",
            "schema": {"type": "string"},
        }
    if endpoint.idempotent:
        headers["Idempotent-Replayed"] = {
            "description": "Set when this is the stored answer to an earlier request with the "
            "same Idempotency-Key",
            "schema": {"type": "string", "enum": ["true"]},
        }
    if endpoint.rate_limits:
        headers.update(RATE_LIMIT_HEADERS)
    return headers
