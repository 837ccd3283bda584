"""Hook implementations of the Avatar Creator plugin."""

from __future__ import annotations

from starlette.routing import BaseRoute

from lumiku import Call, CheckResult, HealthCheck, PluginContext, get, hookimpl


@hookimpl
def register_routes(ctx: PluginContext) -> list[BaseRoute]:
    """Return the plugin's routes."""

    def info(_call: Call[None, None]) -> dict[str, object]:
        """Describe the app and its credit costs."""
        return {"id": ctx.id, "title": ctx.spec.display_title, "credits": dict(ctx.credits)}

    return [get("/info", info, tags=("avatar-creator",))]


@hookimpl
def register_health_checks(ctx: PluginContext) -> dict[str, HealthCheck]:
    """Check that the configured image provider exists."""

    def provider() -> CheckResult:
        name = ctx.settings.provider
        if name in ctx.image_providers:
            return CheckResult("ok", name)
        return CheckResult("down", f"image provider {name!r} is not registered")

    return {"provider": provider}
