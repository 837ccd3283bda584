"""Build a migrated app for tests: a list of plugins, an environment, a temporary database."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

from starlette.applications import Starlette

from lumiku.app import create_app
from lumiku.bootstrap import Runtime, build_runtime
from lumiku.db import migrate
from lumiku.plugins.migrations import migration_sources
from lumiku.plugins.registry import PluginSource
from lumiku.settings import Settings, load_settings
from lumiku.testing.templates import ScratchDatabase


def test_environment(database_url: str, workdir: Path, **overrides: str) -> dict[str, str]:
    """Return the environment of a test app: its own database, storage and secret, no Redis."""
    config = workdir / "lumiku.toml"
    if not config.exists():
        config.write_text("")
    env = {
        "LUMIKU_ENV": "test",
        "DATABASE_URL": database_url,
        "LUMIKU_STORAGE_DIR": str(workdir / "uploads"),
        "LUMIKU_CONFIG": str(config),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "REDIS_ENABLED": "false",
    }
    env.update(overrides)
    return env


test_environment.__test__ = False  # type: ignore[attr-defined]


def build_test_app(
    env: Mapping[str, str],
    *,
    plugins: Iterable[PluginSource] | None = None,
    migrate_database: bool = True,
    database: ScratchDatabase | None = None,
) -> Starlette:
    """Return an app on ``env`` with ``plugins`` (``None``: the installed ones), migrated.

    When ``env`` points at ``database`` and it does not exist yet, it is created as a copy
    of the session's template for the app's migrations instead of being migrated.
    """
    settings: Settings = load_settings(env)
    runtime: Runtime = build_runtime(settings, plugins=plugins)
    sources = migration_sources(runtime.registry) if migrate_database else None
    migrated = False
    if database is not None and env.get("DATABASE_URL") == database.url:
        migrated = database.ensure(sources)
    if sources is not None and not migrated:
        migrate.upgrade(runtime.engine, sources)
    return create_app(runtime=runtime)


def join_jobs(app: Starlette, *, timeout_ms: int = 30_000) -> None:
    """Wait until every queue of the app's in-process broker is drained."""
    runtime: Runtime = app.state.runtime
    broker = runtime.broker
    # Delay queues (``<queue>.DQ``) are not joinable on the stub broker; retries scheduled
    # on them land back on the main queue, which is joined.
    for queue in sorted(broker.get_declared_queues() - broker.get_declared_delay_queues()):
        broker.join(queue, timeout=timeout_ms)
