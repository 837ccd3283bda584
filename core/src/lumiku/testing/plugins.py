"""In-memory plugins built from functions, for tests of hooks and of code that serves plugins.

def register_routes(ctx):
    return [get("/hello", lambda call: {"plugin": ctx.id})]

client = make_client([define_plugin("demo", register_routes=register_routes)])
assert client.get("/api/apps/demo/hello").json() == {"plugin": "demo"}
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from lumiku.hookspecs import HOOK_NAMES, hookimpl
from lumiku.plugins.spec import PluginSpec, Requirement

__all__ = ["define_plugin"]


def define_plugin(
    plugin_id: str,
    *,
    route_prefix: str | None = None,
    requires: tuple[Requirement, ...] | list[Requirement] = (),
    credits: dict[str, int] | None = None,
    settings: type | None = None,
    title: str = "",
    version: str = "0.0.0",
    **hooks: Callable[..., Any],
) -> PluginSpec:
    """Return the spec of a plugin whose hooks are ``hooks`` (hook name -> function).

    The functions are marked as hook implementations (``@hookimpl``) and validated as a
    module's would be when the app loads the spec. Each call makes a plugin of its own, so
    two plugins may share a function.
    """
    unknown = sorted(set(hooks) - set(HOOK_NAMES))
    if unknown:
        raise TypeError(
            f"plugin {plugin_id!r}: {', '.join(unknown)} are not hooks; "
            f"the hooks are {', '.join(HOOK_NAMES)}"
        )
    marked = {name: hookimpl(function) for name, function in hooks.items()}
    # ``plugin`` keeps namespaces holding the same functions apart: they would compare
    # equal, and pluggy refuses to register one object twice.
    namespace = types.SimpleNamespace(plugin=plugin_id, **marked)
    return PluginSpec(
        id=plugin_id,
        title=title,
        version=version,
        route_prefix=route_prefix,
        requires=tuple(requires),
        credits=dict(credits or {}),
        settings=settings,
        hooks=namespace,  # type: ignore[arg-type]  # the registry takes a module or a namespace
    )
