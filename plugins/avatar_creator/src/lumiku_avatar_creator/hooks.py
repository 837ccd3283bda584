"""Hook implementations of the Avatar Creator plugin: thin, they hand over to the services."""

from __future__ import annotations

from typing import Any

import dramatiq
from starlette.routing import BaseRoute

from lumiku import AuthenticatedNamespace, CheckResult, HealthCheck, PluginContext, hookimpl
from lumiku_avatar_creator.realtime import namespaces
from lumiku_avatar_creator.routes import build_routes
from lumiku_avatar_creator.services import services_for


@hookimpl
def register_routes(ctx: PluginContext) -> list[BaseRoute]:
    """Return the plugin's routes."""
    return build_routes(services_for(ctx))


@hookimpl
def register_migrations() -> str:
    """Return the plugin's Alembic branch (label ``avatar_creator``)."""
    return "lumiku_avatar_creator:migrations"


@hookimpl
def register_actors(ctx: PluginContext, broker: dramatiq.Broker) -> list[dramatiq.Actor[Any, Any]]:
    """Declare the generation job (its recovery is the core's)."""
    return [services_for(ctx).jobs.declare(broker)]


@hookimpl
def register_realtime() -> list[AuthenticatedNamespace]:
    """Serve ``/avatar-creator``, where the owner's generation events go."""
    return namespaces()


@hookimpl
def register_health_checks(ctx: PluginContext) -> dict[str, HealthCheck]:
    """Check the configured image provider and report how jobs run."""

    def provider() -> CheckResult:
        """Report whether the configured image provider is registered and healthy."""
        name = ctx.settings.provider
        found = ctx.image_providers.get(name)
        if found is None:
            return CheckResult("down", f"image provider {name!r} is not registered")
        health = found.health()
        healthy = health.get("ok", True) if isinstance(health, dict) else bool(health)
        return CheckResult("ok" if healthy else "degraded", name)

    def queue() -> CheckResult:
        """Report whether jobs go to Redis workers or run in this process."""
        if ctx.capabilities.redis:
            return CheckResult("ok", "jobs run on Redis workers")
        return CheckResult("degraded", "Redis is off: jobs run on this process's worker")

    return {"provider": provider, "queue": queue}
