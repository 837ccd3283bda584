"""Build the ASGI application: Starlette from lists, wrapped by Socket.IO on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import attrs
import sqlalchemy as sa
from anyio import to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from lumiku import errors
from lumiku.bootstrap import Runtime, build_runtime, configure_process
from lumiku.client_address import ClientAddressMiddleware
from lumiku.console import console_routes
from lumiku.db import ping
from lumiku.health import CheckResult, HealthCheck
from lumiku.health_checks import (
    HealthSources,
    PluginHealth,
    core_checks,
)
from lumiku.http.errors import (
    http_exception_handler,
    lumiku_error_handler,
    unexpected_error_handler,
)
from lumiku.http.health_routes import health_routes, plugin_health_route
from lumiku.http.introspection import introspection_routes
from lumiku.http.openapi import build_openapi, walk_routes
from lumiku.http.operator import OperatorAccess, shown_reason
from lumiku.http.plugin_mount import mount_plugin
from lumiku.http.ready import mark_ready
from lumiku.http.request_metrics import RequestMetrics
from lumiku.http.routing import group_routes
from lumiku.http.shutdown import CutAtShutdown
from lumiku.jobs.schedule import Scheduler
from lumiku.logs import RequestLogMiddleware, configure_logging
from lumiku.plugins.discovery import discover
from lumiku.plugins.dispatch import FAIL_PLUGIN, LOG_AND_GO_ON, HookFailed, UnusableResult
from lumiku.plugins.lifecycle import PluginLifecycle
from lumiku.plugins.migrations import MigrationWatch
from lumiku.plugins.registry import PluginRegistry, PluginSource
from lumiku.plugins.state import PluginRecord
from lumiku.realtime.attachment import RealtimeAttachment, attach_realtime, claim_namespaces
from lumiku.realtime.credits import CREDITS_NAMESPACE, CreditsNamespace
from lumiku.realtime.namespace import AuthenticatedNamespace
from lumiku.realtime.revocations import SWEEP_SECONDS
from lumiku.realtime.server import close_realtime
from lumiku.redis_clients import breaker_of
from lumiku.redis_watch import RedisWatch
from lumiku.settings import Settings, read_settings, settings_error
from lumiku.wording import plural

logger = logging.getLogger("lumiku")
VERSION = "0.1.0"


def _core_routes(runtime: Runtime) -> list[BaseRoute]:
    from lumiku.auth.routes import auth_routes
    from lumiku.ledger.hot_reads import LedgerReads
    from lumiku.ledger.routes import credit_routes
    from lumiku.storage.routes import file_route

    return [
        *auth_routes(runtime.auth),
        *credit_routes(runtime.ledger, runtime.auth, LedgerReads(runtime.ledger, runtime.reader)),
        file_route(runtime.storage, runtime.signer),
    ]


def _plugin_routes(
    runtime: Runtime, health: PluginHealth, operators: OperatorAccess
) -> list[BaseRoute]:
    mounts: list[BaseRoute] = []
    for record in runtime.registry.loaded():
        routes = runtime.hooks.call(
            "register_routes",
            record,
            {"ctx": runtime.context(record)},
            on_failure=FAIL_PLUGIN,
            accept=lambda provided: list(provided or []),
        )
        if isinstance(routes, HookFailed):
            continue  # the plugin is failed and not mounted
        # First, so that a plugin's path parameter (/{payment_id}) never shadows it.
        routes.insert(0, plugin_health_route(health, record, operators))
        assert record.spec is not None
        record.routes = sorted(
            f"{method} {path}"
            for path, route in walk_routes(routes, record.spec.prefix)
            if isinstance(route, Route)
            for method in sorted((route.methods or {"GET"}) - {"HEAD"})
        )
        mounts.append(mount_plugin(record, routes, runtime.metrics))
    return mounts


def _plugin_health(runtime: Runtime) -> PluginHealth:
    # The same checks `lumiku doctor` runs; the pages show no exception text.
    return PluginHealth(
        runtime.registry.sorted_records, _plugin_checks(runtime), reason=shown_reason
    )


def _core_checks(
    runtime: Runtime, core_pending: Callable[[], bool] = lambda: False
) -> dict[str, HealthCheck]:
    """Return the core's checks over the runtime's database, Redis state and storage."""
    return core_checks(
        core_pending=core_pending,
        engine=runtime.engine,
        redis_enabled=runtime.settings.redis.enabled,
        redis_up=lambda: runtime.registry.redis_available,
        redis_problem=lambda: runtime.registry.redis_problem,
        storage=runtime.storage,
        storage_folders=runtime.registry.storage_folders,
    )


def _plugin_checks(runtime: Runtime) -> Callable[[PluginRecord], dict[str, HealthCheck]]:
    """Return a plugin's checks: its ``register_health_checks`` hook called with its context;
    a hook that raises or returns something unusable is one ``down`` check named ``hook``."""

    def checks_of(record: PluginRecord) -> dict[str, HealthCheck]:
        if not record.loaded:
            return {}
        checks = runtime.hooks.call(
            "register_health_checks",
            record,
            {"ctx": runtime.context(record)},
            on_failure=LOG_AND_GO_ON,
            accept=lambda result: dict(result or {}),
        )
        if not isinstance(checks, HookFailed):
            return cast(dict[str, HealthCheck], checks)
        cause = checks.cause
        detail = (
            f"register_health_checks returned something unusable: {cause}"
            if isinstance(cause, UnusableResult)
            else f"register_health_checks raised {type(cause).__name__}"
        )
        return {"hook": lambda: CheckResult("down", detail)}

    return checks_of


def _health_routes(
    runtime: Runtime,
    checks: dict[str, HealthCheck],
    plugins: PluginHealth,
    operators: OperatorAccess,
) -> list[BaseRoute]:
    return list(
        health_routes(
            checks=checks,
            plugins=plugins,
            public_settings=runtime.settings.public_view(),
            operators=operators,
        )
    )


def _realtime(runtime: Runtime) -> RealtimeAttachment:
    """Build the Socket.IO server from the namespaces plugins register.

    A plugin whose hook raises, or returns a namespace the server would refuse (not
    authenticated, already taken), fails alone.
    """
    # The core's own namespace first: no plugin can claim it.
    owners: dict[str, str] = {CREDITS_NAMESPACE: "core"}
    namespaces: list[AuthenticatedNamespace] = [CreditsNamespace(CREDITS_NAMESPACE)]
    for record in runtime.registry.loaded():
        claimed = runtime.hooks.call(
            "register_realtime",
            record,
            {"ctx": runtime.context(record)},
            on_failure=FAIL_PLUGIN,
            accept=functools.partial(_claim, owners=owners, owner=record.id),
        )
        if not isinstance(claimed, HookFailed):
            namespaces.extend(claimed)
    settings = runtime.settings
    return attach_realtime(
        namespaces,
        redis_url=settings.redis.url,
        local_only=lambda: not runtime.registry.redis_available,
        cors_origins=settings.cors_origins,
        user_id_of=lambda token: str(runtime.auth.authenticate(token).id),
        publisher=runtime.publisher,
        metrics=runtime.metrics,
        revocations=runtime.revocations,
    )


def _claim(result: Any, *, owners: dict[str, str], owner: str) -> list[AuthenticatedNamespace]:
    return claim_namespaces(result or [], owners, owner)


def _check_database(runtime: Runtime, migrations: MigrationWatch) -> None:
    try:
        ping(runtime.engine)
    except sa.exc.SQLAlchemyError as exc:
        logger.error("❌ Database connection failed: %s", type(exc).__name__)
        return
    logger.info("✅ Database connected successfully")
    migrations.check_now()


_ICONS = {"running": "✅", "degraded": "⚠️", "migrations_pending": "⚠️", "failed": "❌"}


@attrs.frozen
class Watches:
    """What the lifespan re-checks while the app runs (Redis, migrations); each watch
    re-evaluates the plugins and starts those that came up."""

    redis: RedisWatch
    migrations: MigrationWatch


def _checked_settings(plugins: Iterable[PluginSource] | None) -> Settings:
    """Load the settings; on problems raise one ``ConfigurationError`` listing the core's
    and the plugins' that stop the startup (``PluginRegistry.configuration_problems``)."""
    settings, problems = read_settings()
    if problems:
        registry = PluginRegistry(settings, redis_available=settings.redis.enabled)
        registry.load(discover() if plugins is None else plugins)
        raise settings_error(problems + registry.configuration_problems())
    return settings


def _lifespan(runtime: Runtime, realtime: RealtimeAttachment, watches: Watches) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        # Threads waiting on I/O (a slow dependency) must not leave none for other routes;
        # the CPU-heavy work has bounds of its own (password hashing, image decoding).
        to_thread.current_default_thread_limiter().total_tokens = runtime.settings.limits.threads
        await asyncio.to_thread(_check_database, runtime, watches.migrations)
        await asyncio.to_thread(watches.redis.check_now)
        await asyncio.to_thread(runtime.storage.ensure_layout, runtime.registry.storage_folders())
        realtime.bind(asyncio.get_running_loop())
        if runtime.feed is not None:
            runtime.feed.start()
        lifecycle = PluginLifecycle(runtime.registry, runtime.hooks, runtime.context)
        worker = None
        if not runtime.settings.redis.enabled:
            from lumiku.jobs.worker import InProcessWorker

            worker = InProcessWorker(runtime.broker, threads=2)
            worker.start()
            logger.warning("⚠️ Redis is disabled: background jobs run in this process")
        elif runtime.fallback_broker is not None:
            from lumiku.jobs.worker import InProcessWorker

            # Started when Redis is first away: it runs the jobs queued meanwhile.
            worker = InProcessWorker(runtime.fallback_broker, threads=2)
            runtime.jobs.before_fallback(worker.start)
        await lifecycle.start_serving()

        async def start_late() -> None:
            """Start the plugins that came up while serving; say which did."""
            for plugin_id in await lifecycle.start_serving():
                record = runtime.registry.records[plugin_id]
                if record.state.serving:  # its startup succeeded (else it is failed, logged)
                    logger.info("✅ Plugin %s started: %s", plugin_id, record.describe())

        async def redis_changed() -> None:
            """Redis came back or went away: a watch's ping proves it answers again, so the
            broker's breaker (opened by failures meanwhile) closes and the next job goes to
            Redis rather than to this process; then start the plugins that came up."""
            breaker = breaker_of(getattr(runtime.broker, "client", None))
            if runtime.registry.redis_available and breaker is not None:
                breaker.succeeded()
            await start_late()

        tasks = [
            asyncio.create_task(Scheduler(runtime.jobs, runtime.schedules).run()),
            asyncio.create_task(watches.migrations.run(on_change=start_late)),
            asyncio.create_task(realtime.sweep(SWEEP_SECONDS)),
        ]
        if runtime.settings.redis.enabled:
            tasks.append(asyncio.create_task(watches.redis.run(on_change=redis_changed)))
        for record in runtime.registry.sorted_records():
            icon = _ICONS.get(record.state.value, "⏸️")
            logger.info("%s Plugin %s: %s", icon, record.id, record.describe())
        # "Server started" is for the server that listens (``lumiku serve`` logs it once it
        # answers); the app can only say that its own startup is complete.
        serving = plural(len(runtime.registry.serving()), "plugin")
        logger.info("✅ Application started (%s serving)", serving)
        mark_ready()
        try:
            yield {"runtime": runtime}
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await lifecycle.stop()
            if runtime.balance_events is not None:
                await asyncio.to_thread(runtime.balance_events.close)
            await close_realtime(realtime.sio)
            if worker is not None:
                await asyncio.to_thread(worker.stop)
            for provider in runtime.image_providers.values():
                provider.close()
            if runtime.feed is not None:
                await asyncio.to_thread(runtime.feed.stop)
            if runtime.reader is not None:
                await runtime.reader.close()
            handlers = runtime.endpoints.handlers
            if handlers is not None:  # its threads end; a fresh one for a restart (tests)
                runtime.endpoints.handlers = ThreadPoolExecutor(
                    runtime.settings.limits.threads, thread_name_prefix="lumiku-handler"
                )
                handlers.shutdown(wait=False)
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
        settings = settings or _checked_settings(plugins)
        for warning in settings.warnings:
            logger.warning("⚠️ %s", warning)
        logger.info("✅ Environment variables validated successfully")
        runtime = build_runtime(settings, plugins=plugins)
        for warning in runtime.registry.configuration_warnings():
            logger.warning("⚠️ %s", warning)
    settings = runtime.settings
    app_routes: list[BaseRoute] = []

    def openapi() -> dict[str, Any]:
        return build_openapi(
            app_routes, title="Lumiku API", version=VERSION, public_url=settings.public_url
        )

    # Health routes come last: the generic /api/apps/{plugin}/health must not shadow a
    # mounted plugin's own /health.
    plugin_health = _plugin_health(runtime)
    operators = OperatorAccess(runtime.auth, settings.metrics_token)
    migrations = MigrationWatch(runtime.engine, runtime.registry, runtime.hooks, runtime.metrics)
    core_health = _core_checks(runtime, core_pending=lambda: migrations.core_pending is True)
    app_routes.extend(
        [
            *introspection_routes(runtime.registry, runtime.metrics, openapi, operators),
            *_core_routes(runtime),
            *_plugin_routes(runtime, plugin_health, operators),
            *_health_routes(runtime, core_health, plugin_health, operators),
        ]
    )
    realtime = _realtime(runtime)
    watches = Watches(
        RedisWatch(settings.redis.url, runtime.registry, runtime.metrics),
        migrations,
    )
    app = Starlette(
        # The console is a page of the public API's client, not part of the API document.
        routes=[*group_routes(app_routes), *console_routes(settings.public_url)],
        middleware=[
            # First: every log line of the request names its id (from a trusted proxy's
            # X-Request-Id, else a new one), answered in X-Request-Id.
            Middleware(RequestLogMiddleware, trusted=settings.trusted_proxies),
            # Then: the limits, the login throttle and the logs all read this address.
            Middleware(ClientAddressMiddleware, trusted=settings.trusted_proxies),
            Middleware(RequestMetrics, metrics=runtime.metrics),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                expose_headers=[
                    "Idempotent-Replayed",
                    "Location",
                    "Retry-After",
                    "X-Request-Id",
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
        lifespan=_lifespan(runtime, realtime, watches),
    )
    app.state.endpoint_services = runtime.endpoints
    app.state.runtime = runtime
    app.state.realtime = realtime
    app.state.watches = watches
    # What /health/detailed runs, for `lumiku doctor` to run the same (lumiku.health_checks).
    app.state.health = HealthSources(core_health, plugin_health)
    return app


def inspection_app(settings: Settings) -> Starlette:
    """Build the app as ``lumiku serve`` builds it, without its startup lines and without
    serving it (no lifespan: no plugin starts): for ``lumiku doctor`` to run the checks
    ``/health/detailed`` runs (``app.state.health``). Raises ``ConfigurationError`` as
    ``build_runtime`` does."""
    return create_app(runtime=build_runtime(settings))


def create_asgi_app(settings: Settings | None = None) -> ASGIApp:
    """Build the app wrapped by the Socket.IO server (what ``lumiku serve`` runs).

    Logging and the process-wide limits are configured here too: each ``--workers`` process
    is spawned fresh and builds its app with this factory.
    """
    settings = settings or _checked_settings(None)
    configure_logging(settings.log_level, settings.log_format, access_log=settings.access_log)
    configure_process(settings)
    app = create_app(settings)
    realtime = app.state.realtime
    # Socket.IO reads the client address too (idempotent with the app's own middleware).
    trusted = app.state.runtime.settings.trusted_proxies
    return CutAtShutdown(ClientAddressMiddleware(realtime.wrap(app), trusted))
