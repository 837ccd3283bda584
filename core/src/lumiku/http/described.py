"""OpenAPI descriptions of the routes that are not declared endpoints (health, files, ...).

``described(route, **operation)`` attaches a partial OpenAPI operation to a plain Starlette
route; ``lumiku.http.openapi`` merges it over what it derives (path parameters, summary,
operation id). The schemas of what these routes answer are here too, so a generated client
gets a typed health report.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

__all__ = [
    "DETAILED_HEALTH",
    "HEALTH_STATUS",
    "OPERATORS",
    "OPTIONAL_BEARER",
    "PLUGIN_HEALTH",
    "PUBLIC",
    "described",
    "error_ref",
    "health_responses",
    "json_answer",
]

PUBLIC: list[dict[str, list[str]]] = []
"""``security`` of a route anyone may call."""
OPERATORS: list[dict[str, list[str]]] = [{"bearer": []}]
"""``security`` of an operator route (an admin's token or ``LUMIKU_METRICS_TOKEN``)."""
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {"bearer": []}]
"""``security`` of a public route that says more to operators."""

_CHECK = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
        "detail": {"type": "string"},
        "latencyMs": {"type": "number"},
    },
}
HEALTH_STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["up", "degraded", "down"]}},
}
"""``{"status": "up" | "degraded" | "down"}``."""
PLUGIN_HEALTH: dict[str, Any] = {
    "type": "object",
    "required": ["plugin", "status", "state"],
    "properties": {
        "plugin": {"type": "string"},
        "status": {"type": "string", "enum": ["up", "degraded", "down"]},
        "state": {"type": "string", "description": "e.g. enabled, degraded, disabled"},
        "reason": {"type": ["string", "null"], "description": "operators only"},
        "reasonCode": {"type": "string", "description": "operators only"},
        "checks": {
            "type": "object",
            "additionalProperties": _CHECK,
            "description": "operators only",
        },
    },
}
"""A plugin's report: id, status, state; reason and checks for operators."""
DETAILED_HEALTH: dict[str, Any] = {
    "type": "object",
    "required": ["status", "uptimeSeconds", "settings", "checks", "plugins"],
    "properties": {
        "status": {"type": "string", "enum": ["up", "degraded", "down"]},
        "uptimeSeconds": {"type": "number"},
        "settings": {"type": "object", "additionalProperties": True},
        "checks": {"type": "object", "additionalProperties": _CHECK},
        "plugins": {"type": "object", "additionalProperties": PLUGIN_HEALTH},
    },
}
"""The operators' report: status, uptime, safe settings, checks, each plugin."""


def json_answer(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Return an OpenAPI response of ``schema`` as JSON."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_ref(name: str) -> dict[str, str]:
    """Return the reference of an error response component (``NotFound``, ...)."""
    return {"$ref": f"#/components/responses/{name}"}


def described(route: Route, **operation: Any) -> Route:
    """Attach the partial OpenAPI ``operation`` (``operationId``, ``summary``,
    ``parameters``, ``responses``, ``security``) to ``route`` and return it."""
    route.openapi_operation = operation  # type: ignore[attr-defined]
    return route


def health_responses(schema: dict[str, Any], *extra: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """Return the responses of a health route: 200, 503 (down) with ``schema``, ``extra``."""
    return {
        "200": json_answer("Up or degraded", schema),
        "503": json_answer("Down", schema),
        **dict(extra),
    }
