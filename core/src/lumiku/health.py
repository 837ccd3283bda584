"""Health checks: the type plugins return from ``register_health_checks``, how checks are
run, and the checks themselves (the core's and each plugin's). ``/health/*`` and ``lumiku
doctor`` both call these functions: one implementation of what "healthy" means.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, Literal, cast

import attrs

if TYPE_CHECKING:
    import sqlalchemy as sa

    from lumiku.bootstrap import Runtime
    from lumiku.plugins.state import PluginRecord
    from lumiku.storage.backend import StorageBackend

Status = Literal["ok", "degraded", "down"]
Overall = Literal["up", "degraded", "down"]
"""What the health routes answer at the top: up, degraded (200) or down (503)."""
logger = logging.getLogger("lumiku.health")


@attrs.frozen
class CheckResult:
    """The outcome of one health check.

    ``detail`` is a short reason for operators: never a secret, a URL, a filesystem path or
    an exception's text (log those instead).
    """

    status: Status
    detail: str = ""
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        """Return whether the check passed (``degraded`` counts as passing)."""
        return self.status != "down"

    def to_json(self) -> dict[str, object]:
        """Return the wire form used by the health routes."""
        data: dict[str, object] = {"status": self.status}
        if self.detail:
            data["detail"] = self.detail
        if self.latency_ms is not None:
            data["latencyMs"] = round(self.latency_ms, 2)
        return data


HealthCheck = Callable[[], "CheckResult | bool"]
"""A synchronous callable; ``True``/``False`` are read as ``ok``/``down``."""


def run_check(check: HealthCheck, *, timeout: float = 3.0) -> CheckResult:
    """Run ``check`` with a time limit; an exception or a timeout is ``down`` with a reason.

    The exception itself (its text, its traceback) goes to the log, never into the result.
    """
    started = time.perf_counter()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="health-check")
    future = pool.submit(check)
    # Never wait for the thread: a check stuck on a dependency that stopped answering (a
    # database behind a partitioned network) would hold the answer past the timeout.
    pool.shutdown(wait=False)
    try:
        outcome = future.result(timeout=timeout)
    except FutureTimeout:
        return CheckResult("down", f"timed out after {timeout:g}s")
    except Exception as exc:
        logger.warning("health check failed: %s", type(exc).__name__, exc_info=exc)
        return CheckResult("down", f"failed ({type(exc).__name__}); the server log has why")
    latency = (time.perf_counter() - started) * 1000
    if isinstance(outcome, CheckResult):
        return attrs.evolve(outcome, latency_ms=outcome.latency_ms or latency)
    return CheckResult("ok" if outcome else "down", latency_ms=latency)


def run_checks(
    checks: Mapping[str, HealthCheck], *, timeout: float = 3.0
) -> dict[str, CheckResult]:
    """Run each named check and return the results by name."""
    return {name: run_check(check, timeout=timeout) for name, check in checks.items()}


def top_status(status: Status) -> Overall:
    """Return the word the health routes answer for ``status``: ``ok`` reads ``up``."""
    return "up" if status == "ok" else status


def overall(results: Mapping[str, CheckResult]) -> Status:
    """Return ``down`` if any check is down, else ``degraded`` if any is, else ``ok``."""
    statuses = {result.status for result in results.values()}
    if "down" in statuses:
        return "down"
    return "degraded" if "degraded" in statuses else "ok"


# -- The checks the server runs and `lumiku doctor` runs: one implementation ---------------

MIGRATIONS_PENDING = "MIGRATIONS_PENDING"
"""The database check's detail while the core's migrations are not at head."""


def database_check(
    engine: sa.Engine, core_pending: Callable[[], bool] = lambda: False
) -> HealthCheck:
    """Return a check that runs ``SELECT 1``; ``down`` while ``core_pending()`` (the core's
    tables are missing or behind: every route that touches them would fail)."""
    from lumiku.db import ping

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
    """Return the core's checks by name: ``database``, ``redis``, ``storage`` (root and
    folders, or the bucket), ``queues``.

    ``redis_problem`` says what went wrong when ``redis_up`` is false (as
    ``PluginRegistry.redis_problem``). The database is ``down`` while ``core_pending()``:
    its core migrations are not applied. Redis missing is ``degraded``: a soft dependency.
    """
    from lumiku.storage.health import check_storage

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
        if redis_enabled and not redis_up():
            # The web process runs what it queues meanwhile (the fallback broker).
            return CheckResult("degraded", "in-process while Redis is away")
        return CheckResult("ok", "redis" if redis_enabled else "in-process")

    return {
        "database": database_check(engine, core_pending),
        "redis": redis,
        "storage": storage_check,
        "queues": queues,
    }


def runtime_checks(
    runtime: Runtime, core_pending: Callable[[], bool] = lambda: False
) -> dict[str, HealthCheck]:
    """Return :func:`core_checks` over a built runtime's database, Redis state and storage."""
    return core_checks(
        core_pending=core_pending,
        engine=runtime.engine,
        redis_enabled=runtime.settings.redis.enabled,
        redis_up=lambda: runtime.registry.redis_available,
        redis_problem=lambda: runtime.registry.redis_problem,
        storage=runtime.storage,
        storage_folders=runtime.registry.storage_folders,
    )


def plugin_checks(runtime: Runtime) -> Callable[[PluginRecord], dict[str, HealthCheck]]:
    """Return what gives a plugin's checks: its ``register_health_checks`` hook, called
    with its context; a hook that raises or returns something unusable is one ``down``
    check named ``hook``."""
    from lumiku.plugins.dispatch import LOG_AND_GO_ON, HookFailed, UnusableResult

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


class PluginHealth:
    """Each plugin's state with the results of its checks.

    ``checks_of`` returns a plugin's checks (what its ``register_health_checks`` gives); it is
    asked on every report, and only for plugins that serve. ``reason`` is the reason a
    report shows (the HTTP pages hide exception texts). The public (anonymous) report of a
    plugin is reused for ``public_ttl`` seconds, so a flood of anonymous probes does not
    run the plugin's checks each time.
    """

    def __init__(
        self,
        records: Callable[[], Iterable[PluginRecord]],
        checks_of: Callable[[PluginRecord], Mapping[str, HealthCheck]],
        *,
        reason: Callable[[PluginRecord], str] = lambda record: record.reason,
        public_ttl: float = 2.0,
    ) -> None:
        self._records = records
        self._checks_of = checks_of
        self._reason = reason
        self._public_ttl = public_ttl
        self._public: dict[str, tuple[float, dict[str, Any]]] = {}

    def report(self, record: PluginRecord, *, detailed: bool = True) -> dict[str, Any]:
        """Return ``{"plugin", "status", "state"}`` and, when ``detailed`` (for operators),
        ``reason``, ``reasonCode`` and ``checks`` (each check's wire form by name).

        ``status`` is ``up``, ``degraded``, ``down`` (failed, migrations pending, or a check
        down) or ``disabled``.
        """
        from lumiku.plugins.state import PluginState

        serving = record.state.serving
        results = run_checks(self._checks_of(record)) if serving else {}
        status = overall(results) if serving else "down"
        if record.state is PluginState.DEGRADED and status == "ok":
            status = "degraded"
        # A disabled plugin is not an outage of the node: a load balancer probing its
        # health must not pull the node, and anonymous probes must not count as 5xx.
        shown = "disabled" if record.state is PluginState.DISABLED else top_status(status)
        body: dict[str, Any] = {"plugin": record.id, "status": shown, "state": str(record.state)}
        if detailed:
            body["reason"] = self._reason(record)
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


@attrs.frozen
class HealthSources:
    """The core's checks and the plugins' health of one app (``app.state.health``)."""

    checks: Mapping[str, HealthCheck]
    plugins: PluginHealth


def detailed_report(
    checks: Mapping[str, HealthCheck], plugins: PluginHealth
) -> tuple[Status, dict[str, CheckResult], dict[str, dict[str, Any]]]:
    """Run the core ``checks`` and every plugin's report: what ``/health/detailed`` answers
    and ``lumiku doctor`` prints. Return the overall status (of the core checks), the core
    results by name and the plugin reports by plugin id."""
    results = run_checks(checks)
    reports = {record.id: plugins.report(record) for record in plugins.records()}
    return overall(results), results, reports
