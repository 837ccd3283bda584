"""``/health``, ``/health/liveness``, ``/health/readiness``, ``/health/detailed`` and each
plugin's ``<prefix>/health``.

The public routes say ``up``, ``degraded`` or ``down`` and nothing more; ``down`` is a 503,
``degraded`` (a soft dependency such as Redis is missing) a 200, so that a load balancer
does not pull every node when Redis goes away. ``/health/detailed`` and the checks of a
plugin's report are for operators (``lumiku.http.operator``). No answer carries a URL, a
path or an exception's text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lumiku.db import ping
from lumiku.health import CheckResult, HealthCheck, overall, run_checks, top_status
from lumiku.http.described import OPERATORS, OPTIONAL_BEARER, PUBLIC, described, error_ref
from lumiku.http.errors import error_body
from lumiku.http.operator import OperatorAccess, shown_reason
from lumiku.plugins.state import PluginRecord, PluginState
from lumiku.storage.backend import StorageBackend
from lumiku.storage.health import check_storage

_STATUS = {"type": "string", "enum": ["up", "degraded", "down"]}
_CHECK = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "down"]},
        "detail": {"type": "string"},
        "latencyMs": {"type": "number"},
    },
    "additionalProperties": False,
}
HEALTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": _STATUS},
    "additionalProperties": False,
}
"""The body of ``/health``, ``/health/liveness`` and ``/health/readiness``."""
PLUGIN_HEALTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["plugin", "status", "state"],
    "properties": {
        "plugin": {"type": "string"},
        # ``disabled`` (200): switched off on purpose or for want of a soft dependency.
        "status": {"type": "string", "enum": ["up", "degraded", "down", "disabled"]},
        "state": {
            "type": "string",
            "enum": [str(state) for state in PluginState],
        },
        "reason": {"type": "string"},
        "reasonCode": {"type": "string"},
        "checks": {"type": "object", "additionalProperties": _CHECK},
    },
    "additionalProperties": False,
}
"""The body of a plugin's health report; ``reason``, ``reasonCode`` and ``checks`` are for
operators."""
DETAILED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "uptimeSeconds", "settings", "checks", "plugins"],
    "properties": {
        "status": _STATUS,
        "uptimeSeconds": {"type": "number"},
        "settings": {"type": "object"},
        "checks": {"type": "object", "additionalProperties": _CHECK},
        "plugins": {"type": "object", "additionalProperties": PLUGIN_HEALTH_SCHEMA},
    },
    "additionalProperties": False,
}
"""The body of ``/health/detailed``."""


def documented(route: Route, schema: Mapping[str, Any], what: str) -> Route:
    """Return ``route`` with its 200 and 503 bodies declared for OpenAPI (``schema``).

    A health route answers 503 in its own shape, not the error shape: the status says
    ``down``. Other statuses (401, 404, 405) are errors in the common shape.
    """
    content = {"application/json": {"schema": dict(schema)}}
    route.openapi_responses = {  # type: ignore[attr-defined]  # read by lumiku.http.openapi
        "200": {"description": f"{what}: up or degraded", "content": content},
        "503": {"description": f"{what}: down", "content": content},
    }
    return route


MIGRATIONS_PENDING = "MIGRATIONS_PENDING"
"""The database check's detail while the core's migrations are not at head."""


def database_check(
    engine: sa.Engine, core_pending: Callable[[], bool] = lambda: False
) -> HealthCheck:
    """Return a check that runs ``SELECT 1``; ``down`` while ``core_pending()`` (the core's
    tables are missing or behind: every route that touches them would fail)."""

    def check() -> CheckResult:
        ping(engine)
        if core_pending():
            return CheckResult(
                "down", f"{MIGRATIONS_PENDING}: the core's migrations are not at head"
            )
        return CheckResult("ok", engine.url.get_backend_name())

    return check


def core_checks(
    *,
    engine: sa.Engine,
    redis_enabled: bool,
    redis_up: Callable[[], bool],
    redis_problem: Callable[[], str] = lambda: "is not answering",
    storage: StorageBackend,
    storage_folders: Callable[[], Iterable[str]],
    core_pending: Callable[[], bool] = lambda: False,
) -> dict[str, HealthCheck]:
    """Return the core's checks: database, redis, storage (root and folders), queues.

    ``redis_problem`` says what went wrong when ``redis_up`` is false (as
    ``PluginRegistry.redis_problem``). The database is ``down`` while ``core_pending()``:
    its core migrations are not applied.
    """

    def redis() -> CheckResult:
        # A soft dependency: without it the node still serves (limits count in memory).
        if not redis_enabled:
            return CheckResult("degraded", "disabled: jobs, realtime and limits run on this node")
        if redis_up():
            return CheckResult("ok")
        # "not answering", "refused the password (authentication failed)"
        return CheckResult("degraded", redis_problem().removeprefix("is "))

    def storage_check() -> CheckResult:
        return check_storage(storage, folders=storage_folders())

    def queues() -> CheckResult:
        return CheckResult("ok", "redis" if redis_enabled else "in-process")

    return {
        "database": database_check(engine, core_pending),
        "redis": redis,
        "storage": storage_check,
        "queues": queues,
    }


class PluginHealth:
    """Each plugin's state with the results of its checks.

    ``checks_of`` returns a plugin's checks (what its ``register_health_checks`` gives); it is
    asked on every report, and only for plugins that serve. The public (anonymous) report of
    a plugin is reused for ``public_ttl`` seconds, so a flood of anonymous probes does not
    run the plugin's checks each time.
    """

    def __init__(
        self,
        records: Callable[[], Iterable[PluginRecord]],
        checks_of: Callable[[PluginRecord], Mapping[str, HealthCheck]],
        *,
        public_ttl: float = 2.0,
    ) -> None:
        self._records = records
        self._checks_of = checks_of
        self._public_ttl = public_ttl
        self._public: dict[str, tuple[float, dict[str, Any]]] = {}

    def report(self, record: PluginRecord, *, detailed: bool = True) -> dict[str, Any]:
        """Return the plugin's state and (``detailed``: for operators) its checks and reason."""
        serving = record.state.serving
        results = run_checks(self._checks_of(record)) if serving else {}
        status = overall(results) if serving else "down"
        if record.state is PluginState.DEGRADED and status == "ok":
            status = "degraded"
        # A disabled plugin is not an outage of the node: a load balancer probing its
        # health must not pull the node, and anonymous probes must not count as 5xx.
        shown = "disabled" if record.state is PluginState.DISABLED else top_status(status)
        body: dict[str, Any] = {
            "plugin": record.id,
            "status": shown,
            "state": str(record.state),
        }
        if detailed:
            body["reason"] = shown_reason(record)
            body["reasonCode"] = str(record.reason_code)
            body["checks"] = {name: result.to_json() for name, result in results.items()}
        return body

    def records(self) -> list[PluginRecord]:
        """Return every plugin's record."""
        return list(self._records())

    def find(self, wanted: str) -> PluginRecord | None:
        """Return the plugin whose id (or id with dashes) is ``wanted``."""
        for record in self._records():
            if wanted in (record.id, record.id.replace("_", "-")):
                return record
        return None

    def public_report(self, record: PluginRecord) -> dict[str, Any]:
        """Return the report anyone may read (id, status, state), at most ``public_ttl`` old."""
        cached = self._public.get(record.id)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self._public_ttl:
            return cached[1]
        body = self.report(record, detailed=False)
        self._public[record.id] = (now, body)
        return body

    async def response(self, record: PluginRecord, *, detailed: bool = False) -> Response:
        """Answer with the report: 200 (``up``, ``degraded``, ``disabled``), or 503 when the
        plugin is ``down`` (failed, or its migrations pending)."""
        report = self.report if detailed else self.public_report
        body = await run_in_threadpool(lambda: report(record))
        return JSONResponse(body, status_code=200 if body["status"] != "down" else 503)


class CachedChecks:
    """Run ``checks`` at most once per ``ttl`` seconds; callers in between get the last results.

    The public routes are anonymous: without this, a flood of ``/health`` would be a flood
    of database pings and storage writes.
    """

    def __init__(self, checks: Mapping[str, HealthCheck], *, ttl: float = 2.0) -> None:
        self._checks = checks
        self._ttl = ttl
        self._lock = threading.Lock()
        self._at = -ttl
        self._results: dict[str, CheckResult] = {}

    def results(self) -> dict[str, CheckResult]:
        """Return fresh results, or those of the last run if it was less than ``ttl`` ago.

        While a run is under way (a dependency is slow), other callers get the previous
        results at once instead of queueing threads behind it.
        """
        if not self._lock.acquire(blocking=not self._results):
            return dict(self._results)
        try:
            if time.monotonic() - self._at >= self._ttl:
                self._results = run_checks(self._checks)
                self._at = time.monotonic()
            return dict(self._results)
        finally:
            self._lock.release()


def health_routes(
    *,
    checks: Mapping[str, HealthCheck],
    plugins: PluginHealth,
    public_settings: Mapping[str, Any],
    operators: OperatorAccess,
) -> list[Route]:
    """Return the core health routes over ``checks`` (``database`` is the readiness check)."""
    started = time.time()
    cached = CachedChecks(checks)
    readiness_checks = CachedChecks({"database": checks["database"]})

    def answer(status: str) -> Response:
        return JSONResponse({"status": status}, status_code=503 if status == "down" else 200)

    async def health(_: Request) -> Response:
        """Answer up or degraded (200) or down (503), from the core checks; nothing more."""
        results = await run_in_threadpool(cached.results)
        return answer(top_status(overall(results)))

    async def liveness(_: Request) -> Response:
        """Answer 200 while the event loop runs."""
        return answer("up")

    async def readiness(_: Request) -> Response:
        """Answer up (200) when the database answers with the core's tables at head, else
        down (503)."""
        results = await run_in_threadpool(readiness_checks.results)
        return answer("up" if results["database"].ok else "down")

    def detailed_sync() -> dict[str, Any]:
        results = run_checks(checks)
        return {
            "status": top_status(overall(results)),
            "uptimeSeconds": round(time.time() - started, 1),
            "settings": dict(public_settings),
            "checks": {name: result.to_json() for name, result in results.items()},
            "plugins": {record.id: plugins.report(record) for record in plugins.records()},
        }

    async def detailed(request: Request) -> Response:
        """Report the checks, safe settings and each plugin (operators only)."""
        await operators.require(request)
        body = await run_in_threadpool(detailed_sync)
        return JSONResponse(body, status_code=503 if body["status"] == "down" else 200)

    async def plugin_health_by_id(request: Request) -> Response:
        """Report one plugin's state (and checks, to operators) for plugins without a mount."""
        wanted = request.path_params["plugin"]
        record = plugins.find(wanted)
        if record is None:
            return JSONResponse(
                error_body("NOT_FOUND", f"No plugin named {wanted!r} is installed"),
                status_code=404,
            )
        return await plugins.response(record, detailed=await operators.allows(request))

    return [
        described(
            documented(Route("/health", health, methods=["GET"]), HEALTH_SCHEMA, "The server"),
            security=PUBLIC,
        ),
        described(
            documented(
                Route("/health/liveness", liveness, methods=["GET"]), HEALTH_SCHEMA, "The process"
            ),
            security=PUBLIC,
        ),
        described(
            documented(
                Route("/health/readiness", readiness, methods=["GET"]),
                HEALTH_SCHEMA,
                "The database",
            ),
            security=PUBLIC,
        ),
        described(
            documented(
                Route("/health/detailed", detailed, methods=["GET"]), DETAILED_SCHEMA, "The server"
            ),
            operationId="getHealthDetailed",
            security=OPERATORS,
            responses={"401": error_ref("Unauthorized"), "403": error_ref("Forbidden")},
        ),
        described(
            documented(
                Route("/api/apps/{plugin}/health", plugin_health_by_id, methods=["GET"]),
                PLUGIN_HEALTH_SCHEMA,
                "The plugin",
            ),
            operationId="getPluginHealth",
            security=OPTIONAL_BEARER,
            responses={"404": error_ref("NotFound")},
        ),
    ]


def plugin_health_route(
    plugins: PluginHealth, record: PluginRecord, operators: OperatorAccess
) -> Route:
    """Return the ``/health`` route added to a plugin's mount."""

    async def health(request: Request) -> Response:
        """Report this plugin's state (and its checks, to operators)."""
        return await plugins.response(record, detailed=await operators.allows(request))

    route = Route("/health", health, methods=["GET"], name=f"{record.id}_health")
    return described(
        documented(route, PLUGIN_HEALTH_SCHEMA, "The plugin"), security=OPTIONAL_BEARER
    )
