"""``/health``, ``/health/liveness``, ``/health/readiness``, ``/health/detailed`` and each
plugin's ``<prefix>/health``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lumiku.db import ping
from lumiku.health import CheckResult, HealthCheck, overall, run_check, run_checks
from lumiku.http.errors import error_body
from lumiku.plugins.state import PluginRecord, PluginState
from lumiku.storage.health import check_storage
from lumiku.storage.local import LocalStorage


def database_check(engine: sa.Engine) -> HealthCheck:
    """Return a check that runs ``SELECT 1``."""

    def check() -> CheckResult:
        ping(engine)
        return CheckResult("ok", engine.url.get_backend_name())

    return check


def core_checks(
    *,
    engine: sa.Engine,
    redis_enabled: bool,
    redis_up: Callable[[], bool],
    storage: LocalStorage,
    storage_folders: Callable[[], Iterable[str]],
) -> dict[str, HealthCheck]:
    """Return the core's checks: database, redis, storage (root and folders), queues."""

    def redis() -> CheckResult:
        if not redis_enabled:
            return CheckResult("degraded", "disabled: jobs, realtime and limits run on this node")
        return CheckResult("ok") if redis_up() else CheckResult("down", "not answering")

    def storage_check() -> CheckResult:
        return check_storage(storage, folders=storage_folders())

    def queues() -> CheckResult:
        return CheckResult("ok", "redis" if redis_enabled else "in-process")

    return {
        "database": database_check(engine),
        "redis": redis,
        "storage": storage_check,
        "queues": queues,
    }


class PluginHealth:
    """Each plugin's state with the results of its checks.

    ``checks_of`` returns a plugin's checks (what its ``register_health_checks`` gives); it is
    asked on every report, and only for plugins that serve.
    """

    def __init__(
        self,
        records: Callable[[], Iterable[PluginRecord]],
        checks_of: Callable[[PluginRecord], Mapping[str, HealthCheck]],
    ) -> None:
        self._records = records
        self._checks_of = checks_of

    def report(self, record: PluginRecord) -> dict[str, Any]:
        """Return the plugin's state and the results of its checks."""
        serving = record.state.serving
        results = run_checks(self._checks_of(record)) if serving else {}
        status = overall(results) if serving else "down"
        if record.state is PluginState.DEGRADED and status == "ok":
            status = "degraded"
        return {
            "plugin": record.id,
            "status": status,
            "state": str(record.state),
            "reason": record.reason,
            "reasonCode": str(record.reason_code),
            "checks": {name: result.to_json() for name, result in results.items()},
        }

    def reports(self) -> dict[str, dict[str, Any]]:
        """Return the report of every plugin by id."""
        return {record.id: self.report(record) for record in self._records()}

    def find(self, wanted: str) -> PluginRecord | None:
        """Return the plugin whose id (or id with dashes) is ``wanted``."""
        for record in self._records():
            if wanted in (record.id, record.id.replace("_", "-")):
                return record
        return None

    async def response(self, record: PluginRecord) -> Response:
        """Answer with the report: 200, or 503 when the plugin is down."""
        body = await run_in_threadpool(self.report, record)
        return JSONResponse(body, status_code=200 if body["status"] != "down" else 503)


def health_routes(
    *,
    checks: Mapping[str, HealthCheck],
    plugins: PluginHealth,
    public_settings: Mapping[str, Any],
) -> list[Route]:
    """Return the core health routes over ``checks`` (``database`` is the readiness check)."""
    started = time.time()

    async def health(_: Request) -> Response:
        """Answer 200 while the process serves."""
        return JSONResponse({"status": "ok", "uptimeSeconds": round(time.time() - started, 1)})

    async def liveness(_: Request) -> Response:
        """Answer 200 while the event loop runs."""
        return JSONResponse({"status": "alive"})

    async def readiness(_: Request) -> Response:
        """Answer 200 when the database answers, else 503."""
        result = await run_in_threadpool(run_check, checks["database"])
        body = {"status": "ready" if result.ok else "not_ready", "database": result.to_json()}
        return JSONResponse(body, status_code=200 if result.ok else 503)

    def detailed_sync() -> dict[str, Any]:
        results = run_checks(checks)
        return {
            "status": overall(results),
            "uptimeSeconds": round(time.time() - started, 1),
            "settings": dict(public_settings),
            "checks": {name: result.to_json() for name, result in results.items()},
            "plugins": plugins.reports(),
        }

    async def detailed(_: Request) -> Response:
        """Report the database, Redis, storage, queues and each plugin's state and checks."""
        body = await run_in_threadpool(detailed_sync)
        return JSONResponse(body, status_code=503 if body["status"] == "down" else 200)

    async def plugin_health_by_id(request: Request) -> Response:
        """Report one plugin's state and checks (for plugins that have no mount)."""
        wanted = request.path_params["plugin"]
        record = plugins.find(wanted)
        if record is None:
            return JSONResponse(
                error_body("NOT_FOUND", f"No plugin named {wanted!r} is installed"),
                status_code=404,
            )
        return await plugins.response(record)

    return [
        Route("/health", health, methods=["GET"]),
        Route("/health/liveness", liveness, methods=["GET"]),
        Route("/health/readiness", readiness, methods=["GET"]),
        Route("/health/detailed", detailed, methods=["GET"]),
        Route("/api/apps/{plugin}/health", plugin_health_by_id, methods=["GET"]),
    ]


def plugin_health_route(plugins: PluginHealth, record: PluginRecord) -> Route:
    """Return the ``/health`` route added to a plugin's mount."""

    async def health(_: Request) -> Response:
        """Report this plugin's state and checks."""
        return await plugins.response(record)

    return Route("/health", health, methods=["GET"], name=f"{record.id}_health")
