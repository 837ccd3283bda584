"""A plugin's context on fakes, to test its services without an app.

The context is what the plugin's hooks receive in production, built on a migrated test
database with the real ledger, and with fakes where a test wants to look or to steer: a
manual clock, a temporary storage, a recording realtime publisher and a recording job
queue that holds jobs until the test runs them. No app, no lifespan, no ``startup`` hook::

    def test_a_generation_is_charged_once(make_plugin_harness):
        harness = make_plugin_harness(spec)
        user = harness.new_user(credits=100)
        generations = Generations(harness.ctx)
        generation = generations.submit(user, prompt="a cat")
        assert harness.jobs.named("my_plugin.generate") == [{"generation_id": generation.id}]
        harness.jobs.run_held()
        assert harness.ledger.balance(user).balance == 90

:func:`build_plugin_context` is the one place a context is assembled in tests: when
``PluginContext`` gains a field, it gains a line there.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import dramatiq
import sqlalchemy as sa

from lumiku.bootstrap import builtin_image_providers
from lumiku.db.engine import create_engine
from lumiku.db.tables import users
from lumiku.images.provider import ImageProvider
from lumiku.jobs.broker import build_broker
from lumiku.jobs.enqueue import JobQueue
from lumiku.ledger.service import Ledger
from lumiku.metrics import Metrics
from lumiku.plugins.context import Capabilities, PluginContext
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.spec import PluginSpec
from lumiku.plugins.state import PluginRecord
from lumiku.ratelimit import RateLimiter
from lumiku.realtime.publisher import Publisher
from lumiku.settings import Settings, load_settings
from lumiku.storage.local import LocalStorage
from lumiku.storage.signing import UrlSigner
from lumiku.testing.app import test_environment
from lumiku.testing.clock import ManualClock
from lumiku.testing.jobs import FAST_RETRIES
from lumiku.testing.queue import RecordingJobQueue
from lumiku.testing.realtime import RecordingPublisher

__all__ = ["PluginHarness", "build_plugin_context", "build_plugin_harness"]


def build_plugin_context(
    record: PluginRecord,
    *,
    settings: Settings,
    engine: sa.Engine,
    ledger: Ledger,
    storage: LocalStorage,
    jobs: JobQueue,
    realtime: Publisher,
    image_providers: Mapping[str, ImageProvider],
    redis: bool = False,
) -> PluginContext:
    """Return the context of ``record``'s plugin on the given services (others are fresh)."""
    assert record.spec is not None, "a plugin whose spec did not load has no context"
    return PluginContext(
        id=record.id,
        spec=record.spec,
        record=record,
        settings=record.settings,
        credits=record.credits,
        core_settings=settings,
        engine=engine,
        ledger=ledger,
        storage=storage.scoped(record.spec.prefix.rsplit("/", 1)[-1]),
        files=UrlSigner.from_master_secret(settings.jwt_secret),
        realtime=realtime,
        jobs=jobs,
        limiter=RateLimiter(None),
        metrics=Metrics(),
        capabilities=Capabilities(redis=lambda: redis),
        image_providers=image_providers,
        logger=logging.getLogger(f"lumiku.plugins.{record.id}"),
    )


@attrs.define
class PluginHarness:
    """A plugin's context and the fakes under it."""

    ctx: PluginContext
    engine: sa.Engine
    ledger: Ledger
    clock: ManualClock
    jobs: RecordingJobQueue
    realtime: RecordingPublisher
    storage_dir: Path
    broker: dramatiq.Broker = attrs.field(repr=False)
    registry: PluginRegistry = attrs.field(repr=False)

    def new_user(self, *, credits: int = 0, email: str | None = None) -> str:
        """Insert a user (and grant ``credits``, if any); return the user's id."""
        user_id = str(uuid.uuid4())
        now = self.clock()
        with self.engine.begin() as connection:
            connection.execute(
                sa.insert(users).values(
                    id=user_id,
                    email=email or f"{user_id}@example.test",
                    password_hash="!",  # noqa: S106 - no password verifies against it
                    role="user",
                    tokens_valid_after=now,
                    created_at=now,
                    updated_at=now,
                )
            )
        if credits:
            self.ledger.grant(user_id, credits, "test credits", f"test-credits:{user_id}")
        return user_id

    def files(self) -> list[Path]:
        """Return the files the plugin stored, sorted."""
        folder = self.storage_dir / self.ctx.storage.folder
        return sorted(path for path in folder.rglob("*") if path.is_file())

    def close(self) -> None:
        """Close the database connections and the broker."""
        self.engine.dispose()
        self.broker.close()


def build_plugin_harness(
    spec: PluginSpec,
    *,
    database_url: str,
    workdir: Path,
    env: Mapping[str, str] | None = None,
    clock: ManualClock | None = None,
) -> PluginHarness:
    """Build ``spec``'s context on ``database_url`` (migrated already) and fakes.

    ``env`` adds variables to the test environment (plugin settings, credit overrides).
    The plugin's actors are declared on an in-memory broker, so that
    ``harness.jobs.run_held()`` runs what its services enqueue.
    """
    settings = load_settings(test_environment(database_url, workdir, **(env or {})))
    registry = PluginRegistry(settings, redis_available=False)
    registry.load([spec])
    record = registry.records[spec.id]
    if not record.state.serving:
        raise RuntimeError(f"plugin {spec.id!r} is {record.describe()}, so it has no context")
    clock = clock or ManualClock()
    engine = create_engine(database_url)
    ledger = Ledger(engine, clock)
    storage = LocalStorage(Path(settings.storage_dir), clock=clock)
    broker = build_broker(None, policy=FAST_RETRIES)
    jobs = RecordingJobQueue(broker, hold=True)
    realtime = RecordingPublisher()
    ctx = build_plugin_context(
        record,
        settings=settings,
        engine=engine,
        ledger=ledger,
        storage=storage,
        jobs=jobs,
        realtime=realtime,
        image_providers=_image_providers(registry, record, settings),
    )
    storage.ensure_layout([ctx.storage.folder])
    if registry.implements(record.id, "register_actors"):
        registry.call("register_actors", record.id, ctx=ctx, broker=broker)
    return PluginHarness(
        ctx=ctx,
        engine=engine,
        ledger=ledger,
        clock=clock,
        jobs=jobs,
        realtime=realtime,
        storage_dir=Path(settings.storage_dir),
        broker=broker,
        registry=registry,
    )


def _image_providers(
    registry: PluginRegistry, record: PluginRecord, settings: Settings
) -> dict[str, ImageProvider]:
    providers = builtin_image_providers(settings)
    if registry.implements(record.id, "register_image_providers"):
        provided: Any = registry.call("register_image_providers", record.id)
        providers.update({k: v for k, v in (provided or {}).items() if k not in providers})
    return providers
