"""Build a migrated app for tests: a list of plugins, an environment, a test database."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

from starlette.applications import Starlette

from lumiku.app import create_app
from lumiku.bootstrap import Runtime, build_runtime
from lumiku.clock import Clock, utc_now
from lumiku.db import migrate
from lumiku.plugins.migrations import migration_sources
from lumiku.plugins.registry import PluginSource
from lumiku.settings import Settings, load_settings
from lumiku.testing.client import OPERATOR_TOKEN, TestClient
from lumiku.testing.queue import RecordingJobQueue
from lumiku.testing.templates import ScratchDatabase


def test_environment(database_url: str, workdir: Path, **overrides: str) -> dict[str, str]:
    """Return the environment of a test app: its own database, storage and secret, no Redis.

    ``LUMIKU_METRICS_TOKEN`` is :data:`~lumiku.testing.client.OPERATOR_TOKEN`: send
    ``OPERATOR_HEADERS`` to read the operator pages.
    """
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
        "LUMIKU_METRICS_TOKEN": OPERATOR_TOKEN,
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
    clock: Clock = utc_now,
) -> Starlette:
    """Return an app on ``env`` with ``plugins`` (``None``: the installed ones), migrated.

    When ``env`` points at ``database`` and it does not exist yet, it is created as a copy
    of the session's template for the app's migrations instead of being migrated. Jobs go
    through a :class:`RecordingJobQueue` (see :func:`job_queue_of`); ``clock`` is the time of
    the ledger and of auth (pass a :class:`~lumiku.testing.ManualClock` to move it).
    """
    settings: Settings = load_settings(env)
    runtime: Runtime = build_runtime(
        settings, plugins=plugins, job_queue=RecordingJobQueue, clock=clock
    )
    sources = migration_sources(runtime.registry) if migrate_database else None
    migrated = False
    if database is not None and env.get("DATABASE_URL") == database.url:
        migrated = database.ensure(sources)
    if sources is not None and not migrated:
        migrate.upgrade(runtime.engine, sources)
    return create_app(runtime=runtime)


def runtime_of(app: Starlette | TestClient) -> Runtime:
    """Return the runtime (engine, ledger, broker, plugin contexts) of a kit-built app."""
    target = app.app if isinstance(app, TestClient) else app
    runtime = getattr(getattr(target, "state", None), "runtime", None)
    if not isinstance(runtime, Runtime):
        raise TypeError(f"{app!r} is not an app built by lumiku (no runtime in its state)")
    return runtime


def job_queue_of(app: Starlette | TestClient) -> RecordingJobQueue:
    """Return the recording job queue of an app built by :func:`build_test_app`."""
    queue = runtime_of(app).jobs
    if not isinstance(queue, RecordingJobQueue):
        raise TypeError("this app was not built by the kit, so its job queue records nothing")
    return queue
