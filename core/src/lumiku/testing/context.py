"""A plugin's context on fakes, to test its services without an app.

The context is the one the plugin's hooks receive in production, built by the same
composition root (``lumiku.bootstrap``) on a migrated test database with the real ledger,
with fakes where a test wants to look or to steer: a manual clock, a temporary storage, a
recording realtime publisher and a recording job queue that holds jobs until the test
runs them. No app, no lifespan, no worker, no ``startup`` hook::

    def test_a_generation_is_charged_once(make_plugin_harness):
        harness = make_plugin_harness(spec)
        user = harness.new_user(credits=100)
        generations = Generations(harness.ctx)
        generation = generations.submit(user, prompt="a cat")
        assert harness.jobs.named("my_plugin.generate") == [{"generation_id": generation.id}]
        harness.jobs.run_held()
        assert harness.ledger.balance(user).balance == 90

Because the context comes from ``Runtime.context``, a field ``PluginContext`` gains there
reaches the harness with nothing to change here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path

import attrs
import dramatiq
import sqlalchemy as sa

from lumiku.bootstrap import Runtime, build_runtime
from lumiku.db.tables import users
from lumiku.ledger.service import Ledger
from lumiku.plugins.context import PluginContext
from lumiku.plugins.spec import PluginSpec
from lumiku.settings import load_settings
from lumiku.testing.app import test_environment
from lumiku.testing.clock import ManualClock
from lumiku.testing.queue import RecordingJobQueue
from lumiku.testing.realtime import RecordingPublisher

__all__ = ["PluginHarness", "build_plugin_harness"]


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
    runtime: Runtime = attrs.field(repr=False)

    @property
    def broker(self) -> dramatiq.Broker:
        """Return the in-memory broker the plugin's actors are declared on."""
        return self.runtime.broker

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
    """Build ``spec``'s context on ``database_url`` and fakes (migrate the database after).

    ``env`` adds variables to the test environment (plugin settings, credit overrides).
    The plugin's actors are declared on an in-memory broker that no worker consumes, so
    ``harness.jobs.run_held()`` runs what its services enqueue.
    """
    clock = clock or ManualClock()
    settings = load_settings(test_environment(database_url, workdir, **(env or {})))
    runtime = build_runtime(
        settings,
        plugins=[spec],
        job_queue=lambda broker: RecordingJobQueue(broker, hold=True),
        clock=clock,
    )
    record = runtime.registry.records[spec.id]
    if not record.state.serving:
        raise RuntimeError(f"plugin {spec.id!r} is {record.describe()}, so it has no context")
    realtime = RecordingPublisher()
    runtime.publisher.target = realtime
    if runtime.balance_events is not None:
        # ``realtime`` records the plugin's own events: the core's credits:balance
        # announcements (sent from a thread of their own) stay out of it.
        runtime.balance_events.close()
    ctx = runtime.context(record)
    runtime.storage.ensure_layout([ctx.storage.folder])
    assert isinstance(runtime.jobs, RecordingJobQueue)
    return PluginHarness(
        ctx=ctx,
        engine=runtime.engine,
        ledger=runtime.ledger,
        clock=clock,
        jobs=runtime.jobs,
        realtime=realtime,
        storage_dir=Path(settings.storage_dir),
        runtime=runtime,
    )
