"""OpenAPI descriptions of the routes that are not declared endpoints (health, files, ...).

``described(route, **operation)`` attaches a partial OpenAPI operation to a plain Starlette
route; ``lumiku.http.openapi`` merges it over what it derives (path parameters, summary,
operation id) and, for a route that declares them (``route.openapi_responses``), its bodies.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

__all__ = [
    "OPERATORS",
    "OPTIONAL_BEARER",
    "PUBLIC",
    "described",
    "error_ref",
    "json_answer",
]

PUBLIC: list[dict[str, list[str]]] = []
"""``security`` of a route anyone may call."""
OPERATORS: list[dict[str, list[str]]] = [{"bearer": []}]
"""``security`` of an operator route (an admin's token or ``LUMIKU_METRICS_TOKEN``)."""
OPTIONAL_BEARER: list[dict[str, list[str]]] = [{}, {"bearer": []}]
"""``security`` of a public route that says more to operators."""


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
