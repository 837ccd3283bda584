"""Hook implementations of the Pose Generator plugin: thin, they hand over to the modules."""

from __future__ import annotations

import argparse
from typing import Any

import dramatiq
from starlette.routing import BaseRoute

from lumiku import Call, HealthCheck, PluginContext, get, hookimpl
from lumiku_pose_generator import lifecycle
from lumiku_pose_generator.routes.generations import generation_routes
from lumiku_pose_generator.routes.outputs import output_routes
from lumiku_pose_generator.routes.projects import project_routes
from lumiku_pose_generator.services import services_for

TAGS = ("pose-generator",)


@hookimpl
def register_routes(ctx: PluginContext) -> list[BaseRoute]:
    """Return the plugin's routes."""

    def info(_call: Call[None, None]) -> dict[str, object]:
        """Describe the app and its credit costs."""
        return {"id": ctx.id, "title": ctx.spec.display_title, "credits": dict(ctx.credits)}

    from lumiku_pose_generator.routes.library import library_routes
    from lumiku_pose_generator.routes.requests import request_routes
    from lumiku_pose_generator.wire import PoseGeneratorInfo

    services = services_for(ctx)
    return [
        get("/info", info, response=PoseGeneratorInfo, tags=TAGS),
        *library_routes(ctx, TAGS),
        *request_routes(ctx, TAGS),
        *project_routes(services, TAGS),
        *generation_routes(services, TAGS),
        *output_routes(services, services.outputs, TAGS),
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
def register_actors(ctx: PluginContext, broker: dramatiq.Broker) -> list[dramatiq.Actor[Any, Any]]:
    """Declare the generation job (its recovery is the core's)."""
    return [services_for(ctx).jobs.declare(broker)]


@hookimpl
def register_realtime(ctx: PluginContext) -> list[Any]:
    """Serve the ``/pose-generator`` namespace."""
    return [services_for(ctx).namespace]


@hookimpl
def register_health_checks(ctx: PluginContext) -> dict[str, HealthCheck]:
    """Report the queue (counts, Redis or in process), the provider and the storage."""
    return lifecycle.health_checks(services_for(ctx))


@hookimpl
def startup(ctx: PluginContext) -> None:
    """Check the queue, the storage and the namespace, then log the lines operators grep for."""
    lifecycle.start(services_for(ctx))
