"""``/health``, ``/health/liveness``, ``/health/readiness``, ``/health/detailed`` and each
plugin's ``<prefix>/health``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lumiku.bootstrap import STORAGE_FOLDERS
from lumiku.db import ping
from lumiku.health import CheckResult, HealthCheck, overall, run_check, run_checks
from lumiku.http.errors import error_body
from lumiku.plugins.dispatch import LOG_AND_GO_ON, HookFailed
from lumiku.plugins.state import PluginRecord
from lumiku.storage.health import check_storage

if TYPE_CHECKING:
    from lumiku.bootstrap import Runtime

_STARTED = "lumiku.started_at"


def database_check(engine: sa.Engine) -> HealthCheck:
    """Return a check that runs ``SELECT 1``."""

    def check() -> CheckResult:
        ping(engine)
        return CheckResult("ok", engine.url.get_backend_name())

    return check


def _named_checks(result: Any) -> dict[str, HealthCheck]:
    return dict(result or {})


def plugin_checks(runtime: Runtime, record: PluginRecord) -> dict[str, HealthCheck]:
    """Return the plugin's registered checks (none unless it implements the hook)."""
    if not record.loaded or "register_health_checks" not in record.hooks:
        return {}
    checks = runtime.hooks.call(
        "register_health_checks",
        record,
        {"ctx": runtime.context(record)},
        on_failure=LOG_AND_GO_ON,
        accept=_named_checks,
    )
    if not isinstance(checks, HookFailed):
        return checks
    message = f"register_health_checks raised {type(checks.cause).__name__}"

    def broken() -> CheckResult:
        return CheckResult("down", message)

    return {"hook": broken}


def plugin_health(runtime: Runtime, record: PluginRecord) -> dict[str, Any]:
    """Return the plugin's state and the results of its checks."""
    results = run_checks(plugin_checks(runtime, record)) if record.state.serving else {}
    status = overall(results) if record.state.serving else "down"
    if record.state.value == "degraded" and status == "ok":
        status = "degraded"
    return {
        "plugin": record.id,
        "status": status,
        "state": str(record.state),
        "reason": record.reason,
        "reasonCode": str(record.reason_code),
        "checks": {name: result.to_json() for name, result in results.items()},
    }


def core_checks(runtime: Runtime) -> dict[str, HealthCheck]:
    """Return the core's checks: database, redis, storage, queues."""

    def redis() -> CheckResult:
        if not runtime.settings.redis.enabled:
            return CheckResult("degraded", "disabled: jobs, realtime and limits run on this node")
        return CheckResult("ok") if runtime.redis_up else CheckResult("down", "not answering")

    def storage() -> CheckResult:
        return check_storage(runtime.storage, folders=STORAGE_FOLDERS)

    def queues() -> CheckResult:
        mode = "redis" if runtime.settings.redis.enabled else "in-process"
        return CheckResult("ok", mode)

    return {
        "database": database_check(runtime.engine),
        "redis": redis,
        "storage": storage,
        "queues": queues,
    }


def health_routes(runtime: Runtime) -> list[Route]:
    """Return the core health routes."""
    started = time.time()

    async def health(_: Request) -> Response:
        """Answer 200 while the process serves."""
        return JSONResponse({"status": "ok", "uptimeSeconds": round(time.time() - started, 1)})

    async def liveness(_: Request) -> Response:
        """Answer 200 while the event loop runs."""
        return JSONResponse({"status": "alive"})

    async def readiness(_: Request) -> Response:
        """Answer 200 when the database answers, else 503."""
        result = await run_in_threadpool(run_check, database_check(runtime.engine))
        body = {"status": "ready" if result.ok else "not_ready", "database": result.to_json()}
        return JSONResponse(body, status_code=200 if result.ok else 503)

    def detailed_sync() -> dict[str, Any]:
        results = run_checks(core_checks(runtime))
        plugins = {
            record.id: plugin_health(runtime, record)
            for record in runtime.registry.sorted_records()
        }
        return {
            "status": overall(results),
            "uptimeSeconds": round(time.time() - started, 1),
            "settings": runtime.settings.public_view(),
            "checks": {name: result.to_json() for name, result in results.items()},
            "plugins": plugins,
        }

    async def detailed(_: Request) -> Response:
        """Report the database, Redis, storage, queues and each plugin's state and checks."""
        body = await run_in_threadpool(detailed_sync)
        return JSONResponse(body, status_code=503 if body["status"] == "down" else 200)

    async def plugin_health_by_id(request: Request) -> Response:
        """Report one plugin's state and checks (for plugins that have no mount)."""
        wanted = request.path_params["plugin"]
        for record in runtime.registry.records.values():
            if record.id == wanted or record.id.replace("_", "-") == wanted:
                return await _plugin_health_response(runtime, record)
        return JSONResponse(
            error_body("NOT_FOUND", f"No plugin named {wanted!r} is installed"), status_code=404
        )

    return [
        Route("/health", health, methods=["GET"]),
        Route("/health/liveness", liveness, methods=["GET"]),
        Route("/health/readiness", readiness, methods=["GET"]),
        Route("/health/detailed", detailed, methods=["GET"]),
        Route("/api/apps/{plugin}/health", plugin_health_by_id, methods=["GET"]),
    ]


async def _plugin_health_response(runtime: Runtime, record: PluginRecord) -> Response:
    body = await run_in_threadpool(plugin_health, runtime, record)
    return JSONResponse(body, status_code=200 if body["status"] != "down" else 503)


def plugin_health_route(runtime: Runtime, record: PluginRecord) -> Route:
    """Return the ``/health`` route added to a plugin's mount."""

    async def health(_: Request) -> Response:
        """Report this plugin's state and checks."""
        return await _plugin_health_response(runtime, record)

    return Route("/health", health, methods=["GET"], name=f"{record.id}_health")
