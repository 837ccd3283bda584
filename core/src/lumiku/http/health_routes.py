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
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lumiku.health import CheckResult, HealthCheck, overall, run_checks, top_status
from lumiku.health_checks import PluginHealth, detailed_report
from lumiku.http.described import OPERATORS, OPTIONAL_BEARER, PUBLIC, described, error_ref
from lumiku.http.errors import error_body
from lumiku.http.operator import OperatorAccess
from lumiku.plugins.state import PluginRecord, PluginState

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


async def plugin_response(
    plugins: PluginHealth, record: PluginRecord, *, detailed: bool
) -> Response:
    """Answer ``record``'s report: 200 (``up``, ``degraded``, ``disabled``), or 503 when the
    plugin is ``down`` (failed, or its migrations pending)."""
    report = plugins.report if detailed else plugins.public_report
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
        status, results, reports = detailed_report(checks, plugins)  # as `lumiku doctor`
        return {
            "status": top_status(status),
            "uptimeSeconds": round(time.time() - started, 1),
            "settings": dict(public_settings),
            "checks": {name: result.to_json() for name, result in results.items()},
            "plugins": reports,
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
        return await plugin_response(plugins, record, detailed=await operators.allows(request))

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
        return await plugin_response(plugins, record, detailed=await operators.allows(request))

    route = Route("/health", health, methods=["GET"], name=f"{record.id}_health")
    return described(
        documented(route, PLUGIN_HEALTH_SCHEMA, "The plugin"), security=OPTIONAL_BEARER
    )
