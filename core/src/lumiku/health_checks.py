"""The health checks ``/health/detailed`` and ``lumiku doctor`` run: one implementation.

The core's checks (database, Redis, storage, queues), each plugin's (its
``register_health_checks``), the report of a plugin's state with its checks, and the
detailed report both answer. The types and the runner are in ``lumiku.health``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from lumiku.db import ping
from lumiku.health import CheckResult, HealthCheck, Status, overall, run_checks, top_status
from lumiku.plugins.state import PluginRecord, PluginState
from lumiku.storage.health import check_storage

if TYPE_CHECKING:
    import sqlalchemy as sa

    from lumiku.storage.backend import StorageBackend


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
    """Return the core's checks by name: ``database``, ``redis``, ``storage`` (root and
    folders, or the bucket), ``queues``.

    ``redis_problem`` says what went wrong when ``redis_up`` is false (as
    ``PluginRegistry.redis_problem``). The database is ``down`` while ``core_pending()``:
    its core migrations are not applied. Redis missing is ``degraded``: a soft dependency.
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
