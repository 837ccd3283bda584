"""Build the ASGI application: Starlette from lists, wrapped by Socket.IO on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from lumiku import errors
from lumiku.bootstrap import STORAGE_FOLDERS, Runtime, build_runtime
from lumiku.db import migrate, ping
from lumiku.http.errors import (
    http_exception_handler,
    lumiku_error_handler,
    unexpected_error_handler,
)
from lumiku.http.health_routes import health_routes, plugin_health_route
from lumiku.http.introspection import introspection_routes
from lumiku.http.openapi import build_openapi, walk_routes
from lumiku.http.plugin_mount import mount_plugin
from lumiku.http.request_metrics import RequestMetrics
from lumiku.http.routing import group_routes
from lumiku.jobs.schedule import Scheduler
from lumiku.plugins.migrations import migration_sources
from lumiku.plugins.registry import HookFailed, PluginSource
from lumiku.plugins.state import ReasonCode
from lumiku.realtime.attachment import attach_realtime
from lumiku.realtime.server import close_realtime
from lumiku.redis_watch import RedisWatch
from lumiku.settings import Settings, load_settings

logger = logging.getLogger("lumiku")
VERSION = "0.1.0"


def _core_routes(runtime: Runtime) -> list[BaseRoute]:
    from lumiku.auth.routes import auth_routes
    from lumiku.ledger.routes import credit_routes
    from lumiku.storage.routes import file_route

    return [
        *auth_routes(runtime),
        *credit_routes(runtime),
        file_route(runtime.storage, runtime.signer),
    ]


def _plugin_routes(runtime: Runtime) -> list[BaseRoute]:
    mounts: list[BaseRoute] = []
    for record in runtime.registry.loaded():
        routes: list[BaseRoute] = []
        if "register_routes" in record.hooks:
            try:
                routes = list(
                    runtime.registry.call("register_routes", record.id, ctx=runtime.context(record))
                    or []
                )
            except HookFailed as exc:
                logger.error("❌ %s", exc, exc_info=exc.__cause__)
                runtime.registry.fail(record.id, ReasonCode.HOOK_ERROR, str(exc))
                continue
        routes.append(plugin_health_route(runtime, record))
        assert record.spec is not None
        record.routes = sorted(
            f"{method} {record.spec.prefix}{path}"
            for path, route in walk_routes(routes)
            if isinstance(route, Route)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"})
        )
        mounts.append(mount_plugin(record, routes, runtime.metrics))
    return mounts


async def _call_lifecycle(runtime: Runtime, hook: str) -> None:
    for record in list(runtime.registry.serving()):
        if hook not in record.hooks:
            continue
        try:
            result = runtime.registry.call(hook, record.id, ctx=runtime.context(record))
            if inspect.isawaitable(result):
                await result
        except HookFailed as exc:
            logger.error("❌ %s", exc, exc_info=exc.__cause__)
            if hook == "startup":
                runtime.registry.fail(record.id, ReasonCode.STARTUP_ERROR, str(exc))
        except Exception as exc:  # an awaited coroutine raised
            logger.error("❌ plugin %r, hook %r: %s", record.id, hook, exc, exc_info=exc)
            if hook == "startup":
                runtime.registry.fail(
                    record.id, ReasonCode.STARTUP_ERROR, f"{type(exc).__name__}: {exc}"
                )


def _check_database(runtime: Runtime) -> None:
    try:
        ping(runtime.engine)
        logger.info("✅ Database connected successfully")
        at_head = migrate.at_head(runtime.engine, migration_sources(runtime.registry))
    except sa.exc.SQLAlchemyError as exc:
        logger.error("❌ Database connection failed: %s", type(exc).__name__)
        return
    runtime.metrics.migrations_pending.set(0 if at_head else 1)
    if not at_head:
        logger.warning("⚠️ Database migrations are not at head: run `lumiku migrate`")


def _lifespan(runtime: Runtime, attach: Any, realtime_server: Any) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await asyncio.to_thread(_check_database, runtime)
        watch = RedisWatch(runtime)
        await asyncio.to_thread(watch.check_now)
        await asyncio.to_thread(runtime.storage.ensure_layout, STORAGE_FOLDERS)
        attach(asyncio.get_running_loop())
        worker = None
        if not runtime.settings.redis.enabled:
            from lumiku.jobs.worker import InProcessWorker

            worker = InProcessWorker(runtime.broker, threads=2)
            worker.start()
            logger.warning("⚠️ Redis is disabled: background jobs run in this process")
        await _call_lifecycle(runtime, "startup")
        tasks = [asyncio.create_task(Scheduler(runtime.jobs, runtime.schedules).run())]
        if runtime.settings.redis.enabled:
            tasks.append(asyncio.create_task(watch.run()))
        for record in runtime.registry.sorted_records():
            icon = {"running": "✅", "degraded": "⚠️"}.get(
                record.state.value, "❌" if record.state.value == "failed" else "⏸️"
            )
            logger.info("%s Plugin %s: %s", icon, record.id, record.describe())
        logger.info("✅ Server started successfully")
        try:
            yield {"runtime": runtime}
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await _call_lifecycle(runtime, "shutdown")
            await close_realtime(realtime_server)
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            for provider in runtime.image_providers.values():
                provider.close()
            runtime.engine.dispose()

    return lifespan


def create_app(
    settings: Settings | None = None,
    *,
    plugins: Iterable[PluginSource] | None = None,
    runtime: Runtime | None = None,
) -> Starlette:
    """Build the HTTP app. ``plugins=None`` discovers installed plugins via entry points."""
    if runtime is None:
        settings = settings or load_settings()
        for warning in settings.warnings:
            logger.warning("⚠️ %s", warning)
        logger.info("✅ Environment variables validated successfully")
        runtime = build_runtime(settings, plugins=plugins)
    settings = runtime.settings
    app_routes: list[BaseRoute] = []

    def openapi() -> dict[str, Any]:
        return build_openapi(app_routes, title="Lumiku API", version=VERSION)

    # Health routes come last: the generic /api/apps/{plugin}/health must not shadow a
    # mounted plugin's own /health.
    app_routes.extend(
        [
            *introspection_routes(runtime, openapi),
            *_core_routes(runtime),
            *_plugin_routes(runtime),
            *health_routes(runtime),
        ]
    )
    attach = attach_realtime(runtime)
    app = Starlette(
        routes=group_routes(app_routes),
        middleware=[
            Middleware(RequestMetrics, metrics=runtime.metrics),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                expose_headers=[
                    "Retry-After",
                    "X-RateLimit-Limit",
                    "X-RateLimit-Remaining",
                    "X-RateLimit-Reset",
                ],
                allow_credentials="*" not in settings.cors_origins,
            ),
        ],
        exception_handlers={
            HTTPException: http_exception_handler,
            errors.LumikuError: lumiku_error_handler,
            Exception: unexpected_error_handler,
        },
        lifespan=_lifespan(runtime, attach.bind, attach.sio),
    )
    app.state.endpoint_services = runtime.endpoints
    app.state.runtime = runtime
    app.state.realtime = attach
    return app


def create_asgi_app(settings: Settings | None = None) -> ASGIApp:
    """Build the app wrapped by the Socket.IO server (what ``lumiku serve`` runs)."""
    app = create_app(settings)
    realtime = app.state.realtime
    return realtime.wrap(app)  # type: ignore[no-any-return]
