"""Helpers of the HTTP edge tests: a plugin made of route functions, and the error shape."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from lumiku import PluginSpec, hookimpl


def plugin_of(plugin_id: str, routes: Callable[[Any], list[Any]]) -> PluginSpec:
    """Return a plugin whose ``register_routes`` is ``routes(ctx)``."""
    hooks = types.SimpleNamespace(register_routes=hookimpl(routes))
    return PluginSpec(id=plugin_id, hooks=hooks)  # type: ignore[arg-type]


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert the common error shape with ``status`` and ``code``; return ``error``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error
