"""``lumiku doctor``: the pre-deployment checklist, one ✅/⚠️/❌ line per item."""

from __future__ import annotations

import argparse

import redis
import sqlalchemy as sa

from lumiku.cli.console import FAIL, OK, WARN
from lumiku.cli.environment import load_registry
from lumiku.db import migrate, ping
from lumiku.db.engine import create_engine
from lumiku.plugins.migrations import (
    mark_pending_migrations,
    migration_sources,
    naming_advice,
    orphan_advice,
    revision_owners,
)
from lumiku.redis_watch import redis_problem
from lumiku.settings import read_settings
from lumiku.storage.health import check_storage
from lumiku.storage.opening import open_storage


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
    engine = create_engine(settings.database_url)
    registry = load_registry(settings)
    for warning in registry.configuration_warnings():
        line(WARN, warning)
    try:
        try:
            ping(engine)
            line(OK, f"database reachable ({engine.url.get_backend_name()})")
            sources = migration_sources(registry)
            rows = migrate.status(engine, sources, registry.records, revision_owners(registry))
            mark_pending_migrations(engine, registry)  # the plugin lines below show it
            for row in rows:
                if row.state == "up_to_date":
                    line(OK, f"migrations of {row.branch} at head ({row.head})")
                elif row.state in ("orphaned", "plugin_off"):
                    line(WARN, orphan_advice(row, registry))
                else:
                    line(
                        FAIL,
                        f"migrations of {row.branch} {row.state.replace('_', ' ')}: "
                        "run `lumiku migrate`",
                    )
            for plugin_id, head in migrate.unnamed_heads(sources):
                line(WARN, naming_advice(plugin_id, head))
        except sa.exc.SQLAlchemyError as exc:
            line(FAIL, f"database not reachable: {type(exc).__name__}")
    finally:
        engine.dispose()
    if settings.redis.enabled:
        client = redis.Redis.from_url(
            settings.redis.url or "", socket_connect_timeout=2, socket_timeout=2
        )
        try:
            client.ping()
            line(OK, f"Redis answering ({settings.redis.display_url})")
        except redis.RedisError as exc:
            line(FAIL, f"Redis at {settings.redis.display_url} {redis_problem(exc)}")
        finally:
            client.close()
    else:
        line(WARN, "Redis disabled: jobs run in the web process, realtime and limits on one node")
    storage = open_storage(settings)
    folders = registry.storage_folders()
    where = f"S3 bucket {settings.s3.bucket}" if settings.s3 else str(settings.storage_dir)
    try:
        storage.ensure_layout(folders)
    except OSError as exc:
        line(FAIL, f"storage {where} cannot be created: {exc.strerror}")
    else:
        health = check_storage(storage, folders=folders)
        mark = {"ok": OK, "degraded": WARN}.get(health.status, FAIL)
        line(mark, f"storage {where}: {health.detail or 'writable'}")
    required = set(registry.configuration_errors())
    for record in registry.sorted_records():
        mark = {"running": OK, "degraded": WARN, "disabled": WARN}.get(record.state.value, FAIL)
        if f"plugin {record.id}: {record.reason}" in required:
            mark = FAIL  # required in production: `lumiku serve` would not start
        line(mark, f"plugin {record.id} {record.version}: {record.describe()}")
    return 1 if failed else 0
