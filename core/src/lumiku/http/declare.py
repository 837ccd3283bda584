"""Declaring endpoints: ``route`` and its verbs, each returning a Starlette route.

A route's ``endpoint_spec`` holds the ``Endpoint`` it serves (``lumiku.http.endpoint``).
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from lumiku.http.endpoint import Endpoint, Handler, endpoint_route


def route(
    method: str,
    path: str,
    handler: Handler,
    *,
    plugin_id: str | None = None,
    **declaration: Any,
) -> Route:
    """Declare an endpoint and return its Starlette route (``route.endpoint_spec`` holds it).

    ``declaration`` takes the fields of ``Endpoint`` (``body``, ``form``, ``query``,
    ``response``, ``status``, ``auth``, ``max_body``, ``rate_limits``, ``idempotent``,
    ``errors``, ``extra_fields``, ``summary``, ``tags``, ``name``, ``operation_id``,
    ``produces``). Raises ``ValueError`` or ``TypeError`` for a declaration that cannot be
    served (an unknown status, body and form together, a form or query class with a field
    type that cannot come from text).
    """
    return endpoint_route(
        Endpoint(method.upper(), path, handler, plugin_id=plugin_id, **declaration)
    )


def get(path: str, handler: Handler, **declaration: Any) -> Route:
    """Declare a GET endpoint."""
    return route("GET", path, handler, **declaration)


def post(path: str, handler: Handler, **declaration: Any) -> Route:
    """Declare a POST endpoint."""
    return route("POST", path, handler, **declaration)


def put(path: str, handler: Handler, **declaration: Any) -> Route:
    """Declare a PUT endpoint."""
    return route("PUT", path, handler, **declaration)


def patch(path: str, handler: Handler, **declaration: Any) -> Route:
    """Declare a PATCH endpoint."""
    return route("PATCH", path, handler, **declaration)


def delete(path: str, handler: Handler, **declaration: Any) -> Route:
    """Declare a DELETE endpoint."""
    return route("DELETE", path, handler, **declaration)
