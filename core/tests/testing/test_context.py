"""PluginHarness: a plugin's context on a migrated database with fakes, without an app."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

import dramatiq
import pytest
import sqlalchemy as sa

from lumiku import PluginContext, Reference, declare_actor, hard
from lumiku.testing import (
    ManualClock,
    PluginHarness,
    PublishedEvent,
    RecordedJob,
    define_plugin,
)


def register_actors(ctx: PluginContext, broker: dramatiq.Broker) -> list[Any]:
    def finish(user_id: str, hold_id: str) -> None:
        """Capture the hold, store a file, tell the user."""
        ctx.ledger.capture(hold_id)
        key = ctx.storage.put(b"result", suffix=".png")
        ctx.realtime.publish(user_id, "done", {"key": key}, namespace="/lkt")

    return [declare_actor(broker, finish, name="lkt_worker.finish", queue="lkt_worker")]


WORKER = define_plugin("lkt_worker", credits={"finish": 7}, register_actors=register_actors)


def test_the_context_has_the_plugins_settings_and_the_fakes(make_plugin_harness: Any) -> None:
    clock = ManualClock()
    harness: PluginHarness = make_plugin_harness(WORKER, clock=clock, LKT_WORKER_CREDITS_FINISH="9")
    ctx = harness.ctx

    assert ctx.id == "lkt_worker"
    assert ctx.cost("finish") == 9  # deployer overrides apply, as in an app
    assert ctx.jobs is harness.jobs
    assert ctx.jobs.holding
    ctx.realtime.publish("u1", "hello", {}, namespace="/lkt")
    assert harness.realtime.names() == ["hello"]
    assert ctx.ledger is harness.ledger
    assert harness.clock is clock
    assert harness.ctx.clock is clock  # the plugin reads the same time as the ledger
    assert ctx.engine is harness.engine
    assert not ctx.capabilities.redis
    assert "local" in ctx.image_providers


def test_a_service_runs_end_to_end_on_the_fakes(make_plugin_harness: Any) -> None:
    harness: PluginHarness = make_plugin_harness(WORKER)
    ctx = harness.ctx
    user = harness.new_user(credits=20)
    hold = ctx.ledger.hold(
        user, ctx.cost("finish"), Reference("job", "1"), "k:1", timedelta(hours=1)
    )

    ctx.jobs.enqueue("lkt_worker.finish", user_id=user, hold_id=hold.id)
    assert harness.jobs.held == [
        RecordedJob("lkt_worker.finish", {"user_id": user, "hold_id": hold.id})
    ]
    assert harness.ledger.balance(user).held == 7
    assert harness.jobs.run_held() == 1

    assert harness.ledger.balance(user).balance == 13
    [stored] = harness.files()
    assert stored.read_bytes() == b"result"
    # The ledger's own credits:balance events go to /credits; the plugin's to its namespace.
    [event] = [event for event in harness.realtime.to(user) if event.namespace == "/lkt"]
    assert event == PublishedEvent(user, "done", {"key": event.data["key"]}, "/lkt")
    assert event.data["key"].startswith("lkt-worker/")


def test_each_harness_has_a_database_of_its_own(make_plugin_harness: Any) -> None:
    first: PluginHarness = make_plugin_harness(WORKER)
    second: PluginHarness = make_plugin_harness(WORKER)
    first.new_user(credits=5)

    with second.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 0


def test_the_plugins_migrations_are_applied(make_plugin_harness: Any, install_plugin: Any) -> None:
    plugin = install_plugin()
    spec = importlib.import_module(f"{plugin.package}.plugin").spec

    harness: PluginHarness = make_plugin_harness(spec)

    tables = set(sa.inspect(harness.engine).get_table_names())
    assert set(plugin.tables) <= tables


def test_a_plugin_that_cannot_run_has_no_context(make_plugin_harness: Any) -> None:
    with pytest.raises(RuntimeError, match=r"lkt_needy.*disabled"):
        make_plugin_harness(define_plugin("lkt_needy", requires=[hard("redis")]))
