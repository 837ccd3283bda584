"""Hook implementations of the Duitku payments plugin."""

from __future__ import annotations

from starlette.routing import BaseRoute

from lumiku import Call, CheckResult, HealthCheck, PluginContext, get, hookimpl


@hookimpl
def register_routes(ctx: PluginContext) -> list[BaseRoute]:
    """Return the plugin's routes."""

    def packages(_call: Call[None, None]) -> dict[str, object]:
        """List the credit packages on sale (filled in by the payments issue)."""
        return {"packages": [], "plugin": ctx.id}

    return [get("/packages", packages, tags=("payments",))]


@hookimpl
def register_health_checks(ctx: PluginContext) -> dict[str, HealthCheck]:
    """Report the configured Duitku endpoint (never the key)."""

    def config() -> CheckResult:
        return CheckResult("ok", ctx.settings.base_url)

    return {"config": config}
