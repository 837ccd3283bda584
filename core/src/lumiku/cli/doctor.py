"""``lumiku doctor``: the pre-deployment checklist, one ✅/⚠️/❌ line per item.

It runs the health checks the server runs for ``/health/detailed`` (``lumiku.health_checks``:
the same functions, on the app built as the server builds it, not served), after the checks
only a deployment needs: the settings, the migrations of every branch, the storage layout.
What each line means: docs/operations.md, "lumiku doctor".
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette

from lumiku.cli.console import FAIL, OK, WARN
from lumiku.cli.environment import load_registry
from lumiku.db import migrate
from lumiku.db.engine import create_engine
from lumiku.errors import ConfigurationError
from lumiku.health import CheckResult
from lumiku.health_checks import (
    MIGRATIONS_PENDING,
    HealthSources,
    PluginHealth,
    core_checks,
    detailed_report,
)
from lumiku.metrics import Metrics
from lumiku.plugins.migrations import (
    mark_pending_migrations,
    migration_sources,
    naming_advice,
    orphan_advice,
    revision_owners,
)
from lumiku.plugins.registry import PluginRegistry
from lumiku.redis_watch import RedisWatch
from lumiku.settings import Settings, read_settings
from lumiku.storage.backend import StorageBackend
from lumiku.storage.opening import open_storage

Line = Callable[[str, str], None]
_MARKS = {"ok": OK, "up": OK, "degraded": WARN, "disabled": WARN}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``doctor``."""
    parser = commands.add_parser("doctor", help="run the pre-deployment checklist")
    parser.set_defaults(func=run)


def run(_args: argparse.Namespace) -> int:
    """Print the checklist; return 1 when any line is ❌."""
    failed = False

    def line(mark: str, text: str) -> None:
        nonlocal failed
        failed = failed or mark == FAIL
        print(f"{mark} {text}")

    settings, problems = read_settings()
    if problems:
        # The plugins' problems with the core's, so one run shows everything to fix.
        registry = load_registry(settings)
        for problem in problems + registry.configuration_problems():
            line(FAIL, f"setting {problem['variable']}: {problem['rule']}")
        for unconfigured in registry.unconfigured():
            line(WARN, unconfigured)
        return 1
    line(OK, f"settings valid (environment: {settings.env})")
    for warning in settings.warnings:
        line(WARN, warning)
    missing = _missing_sqlite_file(settings.database_url)
    if missing:
        # Opening it would create an empty database: a mistyped path must not look like a
        # fresh install that only needs `lumiku migrate`.
        line(
            FAIL,
            f"database file {missing} does not exist: check DATABASE_URL "
            "(`lumiku migrate` creates it for a new install)",
        )
        return 1
    from lumiku.app import inspection_app

    try:
        app: Starlette | None = inspection_app(settings)
    except ConfigurationError:
        app = None  # a plugin required in production is not configured: its line says
    try:
        _check(settings, app, line)
    finally:
        if app is not None:
            app.state.runtime.engine.dispose()
            app.state.runtime.broker.close()
    return 1 if failed else 0


def _missing_sqlite_file(url: str) -> str | None:
    """Return the path of a SQLite database file that does not exist, else None."""
    parsed = sa.engine.make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return None
    return None if Path(path).exists() else path


def _check(settings: Settings, app: Starlette | None, line: Line) -> None:
    # The app's runtime (lumiku.bootstrap.Runtime): only composition roots name it.
    runtime: Any = app.state.runtime if app is not None else None
    registry = runtime.registry if runtime is not None else load_registry(settings)
    for warning in registry.configuration_warnings():
        line(WARN, warning)
    engine = runtime.engine if runtime is not None else create_engine(settings.database_url)
    storage = runtime.storage if runtime is not None else open_storage(settings)
    where = f"S3 bucket {settings.s3.bucket}" if settings.s3 else str(settings.storage_dir)
    lines: list[tuple[str, str]] = []
    try:
        behind = _migrations(engine, registry, lambda mark, text: lines.append((mark, text)))
        _redis(settings, registry, runtime.metrics if runtime else None)
        try:
            storage.ensure_layout(registry.storage_folders())  # as the server's startup does
        except OSError as exc:
            lines.append((FAIL, f"storage {where} cannot be created: {exc.strerror}"))
        sources = _health_sources(settings, app, registry, engine, storage, behind)
        _, results, reports = detailed_report(sources.checks, sources.plugins)
    finally:
        if runtime is None:
            engine.dispose()
    _core_lines(settings, registry, engine, results, where, lines, line)
    _plugin_lines(registry, reports, line)


def _health_sources(
    settings: Settings,
    app: Starlette | None,
    registry: PluginRegistry,
    engine: sa.Engine,
    storage: StorageBackend,
    core_behind: bool,
) -> HealthSources:
    """Return the checks ``/health/detailed`` runs: those of the app built as ``lumiku
    serve`` builds it (its routes, realtime namespaces and health), not served."""
    if app is not None:
        app.state.watches.migrations.core_pending = core_behind  # read at its startup
        sources: HealthSources = app.state.health
        return sources
    # A plugin required in production is not configured (the server would not start):
    # the core's checks alone, and each plugin's state.
    checks = core_checks(
        engine=engine,
        redis_enabled=settings.redis.enabled,
        redis_up=lambda: registry.redis_available,
        redis_problem=lambda: registry.redis_problem,
        storage=storage,
        storage_folders=registry.storage_folders,
        core_pending=lambda: core_behind,
    )
    return HealthSources(checks, PluginHealth(registry.sorted_records, lambda _record: {}))


def _migrations(engine: sa.Engine, registry: PluginRegistry, line: Line) -> bool:
    """Say each branch's migration state; put the plugins behind in ``migrations_pending``
    (as the server's watch does). Return whether the core's migrations are not at head."""
    sources = migration_sources(registry)
    try:
        rows = migrate.status(engine, sources, registry.records, revision_owners(registry))
        report = mark_pending_migrations(engine, registry)  # the plugin lines show it
    except sa.exc.SQLAlchemyError:
        return False  # the database line says it is not reachable
    for row in rows:
        if row.state == "up_to_date":
            line(OK, f"migrations of {row.branch} at head ({row.head})")
        elif row.state in ("orphaned", "plugin_off"):
            line(WARN, orphan_advice(row, registry))
        else:
            state = row.state.replace("_", " ")
            line(FAIL, f"migrations of {row.branch} {state}: run `lumiku migrate`")
    for plugin_id, head in migrate.unnamed_heads(sources):
        line(WARN, naming_advice(plugin_id, head))
    return bool(report.core_pending)


def _redis(settings: Settings, registry: PluginRegistry, metrics: Metrics | None) -> None:
    """Ping Redis as the server's watch does, and tell the registry (plugin states)."""
    if not settings.redis.enabled:
        registry.set_redis_available(False)
        return
    watch = RedisWatch(settings.redis.url, registry, metrics or Metrics())
    up = watch.ping()
    registry.set_redis_available(up, watch.problem)


def _core_lines(
    settings: Settings,
    registry: PluginRegistry,
    engine: sa.Engine,
    results: dict[str, CheckResult],
    where: str,
    early: list[tuple[str, str]],
    line: Line,
) -> None:
    database = results["database"]
    if database.ok or database.detail.startswith(MIGRATIONS_PENDING):
        # Behind: the migration lines below say which branch and what to run.
        line(OK, f"database reachable ({engine.url.get_backend_name()})")
    else:
        line(FAIL, f"database not reachable: {database.detail}")
    for mark, text in early:  # the migrations, a storage that could not be laid out
        line(mark, text)
    redis = results["redis"]
    if not settings.redis.enabled:
        line(WARN, f"Redis {redis.detail}")
    elif registry.redis_available:
        line(OK, f"Redis answering ({settings.redis.display_url})")
    else:
        # Degraded for a running server, a failure before a deployment: it is configured.
        line(FAIL, f"Redis at {settings.redis.display_url} {registry.redis_problem}")
    storage = results["storage"]
    line(_MARKS.get(storage.status, FAIL), f"storage {where}: {storage.detail or 'writable'}")
    queues = results["queues"]
    line(_MARKS.get(queues.status, FAIL), f"queues: {queues.detail}")


def _plugin_lines(
    registry: PluginRegistry, reports: dict[str, dict[str, object]], line: Line
) -> None:
    required = set(registry.configuration_errors())
    for record in registry.sorted_records():
        report = reports[record.id]
        mark = _MARKS.get(str(report["status"]), FAIL)
        if f"plugin {record.id}: {record.reason}" in required:
            mark = FAIL  # required in production: `lumiku serve` would not start
        health = str(report["status"])
        said = "" if health in ("ok", "up") or health in record.describe() else f"; health {health}"
        line(mark, f"plugin {record.id} {record.version}: {record.describe()}{said}")
        checks = report.get("checks")
        for name, check in (checks if isinstance(checks, dict) else {}).items():
            status = str(check["status"])
            detail = check.get("detail") or status
            line(_MARKS.get(status, FAIL), f"plugin {record.id} check {name}: {detail}")
