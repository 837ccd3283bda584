"""A plugin whose migrations are not at head is ``migrations_pending``: it does not serve
(503, never a 500 from a missing table) until ``lumiku migrate`` runs, and then it comes up
without a restart.

The plugins here are real distributions (see ``install_plugin``), so ``lumiku migrate``
finds them through their entry points as it finds installed packages.
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku import PluginSpec, soft
from lumiku.plugins.discovery import discover
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.state import PluginState
from lumiku.settings import load_settings
from lumiku.testing import OPERATOR_HEADERS
from lumiku.testing.app import build_test_app

TABLE_HOOKS = """
import sqlalchemy as sa

from lumiku import get, hookimpl

STARTED = []


@hookimpl
def register_routes(ctx):
    def count(call):
        with ctx.engine.connect() as conn:
            items = conn.execute(sa.text("SELECT count(*) FROM @ID@_items")).scalar_one()
        return {"items": items}

    return [get("/items", count)]


@hookimpl
def register_migrations():
    return "@PKG@:migrations"


@hookimpl
def startup(ctx):
    STARTED.append(ctx.id)
"""

PENDING = "its database migrations are not applied: run `lumiku migrate`"


def test_pending_migrations_keep_a_plugin_from_serving_and_come_before_soft_requirements(
    tmp_path: Path,
) -> None:
    config = tmp_path / "lumiku.toml"
    config.write_text("")
    settings = load_settings(
        {"LUMIKU_ENV": "test", "JWT_SECRET": "m" * 40, "LUMIKU_CONFIG": str(config)}
    )
    registry = PluginRegistry(settings, redis_available=False)
    registry.load(
        [
            PluginSpec(id="tables", requires=(soft("redis"),)),
            PluginSpec(id="follower", requires=("plugin:tables",)),
            PluginSpec(id="plain"),
        ]
    )
    assert sorted(registry.set_migrations_pending({"tables": PENDING})) == ["follower", "tables"]
    tables = registry.records["tables"]
    assert (tables.state, tables.reason_code.value, tables.reason) == (
        PluginState.MIGRATIONS_PENDING,
        "migrations_pending",
        PENDING,
    )
    assert not tables.state.serving
    # The evaluation runs in dependency order: a plugin needing it is disabled meanwhile.
    assert registry.records["follower"].state is PluginState.DISABLED
    assert "tables (migrations_pending" in registry.records["follower"].reason
    assert registry.set_migrations_pending({"tables": PENDING}) == []
    assert registry.set_redis_available(True) == []  # still pending, Redis or not
    assert sorted(registry.set_migrations_pending({})) == ["follower", "tables"]
    assert [(r.id, r.state.value) for r in registry.sorted_records()] == [
        ("follower", "running"),
        ("plain", "running"),
        ("tables", "running"),
    ]


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within 10 s")
        time.sleep(0.05)


def test_a_plugin_comes_up_when_lumiku_migrate_runs_while_the_server_serves(
    install_plugin: Callable[..., Any],
    run_cli: Callable[..., Any],
    lumiku_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    plugin = install_plugin(hooks=TABLE_HOOKS)
    assert run_cli(lumiku_env, "migrate", "--plugin", "core").code == 0
    app = build_test_app(
        lumiku_env,
        plugins=[c for c in discover() if c.name == plugin.id],
        migrate_database=False,
    )
    app.state.watches.migrations.interval = 0.05
    started = importlib.import_module(f"{plugin.package}.hooks").STARTED
    caplog.set_level(logging.INFO)

    def state(client: TestClient) -> tuple[str, str, str]:
        found = client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"][0]
        return found["state"], found["reasonCode"], found["reason"]

    with TestClient(app, raise_server_exceptions=False) as client:
        assert state(client) == ("migrations_pending", "migrations_pending", PENDING)
        gated = client.get(f"{plugin.prefix}/items")
        assert gated.status_code == 503
        assert gated.json()["error"]["code"] == "PLUGIN_UNAVAILABLE"
        assert gated.json()["error"]["details"]["reasonCode"] == "migrations_pending"
        assert "lumiku migrate" in gated.json()["error"]["message"]
        health = client.get(f"{plugin.prefix}/health", headers=OPERATOR_HEADERS)
        assert (health.status_code, health.json()["state"]) == (503, "migrations_pending")
        assert client.get("/api/apps").json()["apps"] == []
        assert started == []  # not started while its tables are missing
        assert f"⚠️ Plugin {plugin.id}: migrations_pending (" in caplog.text
        assert (
            "lumiku_migrations_pending 1.0" in client.get("/metrics", headers=OPERATOR_HEADERS).text
        )
        listed = run_cli(lumiku_env, "plugins", "list", "--json")
        assert json.loads(listed.out)[0]["state"] == "migrations_pending"

        assert run_cli(lumiku_env, "migrate").code == 0
        _wait_until(lambda: state(client)[0] == "running", "the plugin did not come up")
        assert client.get(f"{plugin.prefix}/items").json() == {"items": 0}
        assert started == [plugin.id]
        # ✅ only once its startup succeeded, not when its state changed.
        announced = f"✅ Plugin {plugin.id} started: running"
        _wait_until(lambda: announced in caplog.text, "the start was not announced")
        assert f"✅ Plugin {plugin.id} is now" not in caplog.text
        assert (
            "lumiku_migrations_pending 0.0" in client.get("/metrics", headers=OPERATOR_HEADERS).text
        )

        # A branch taken back while the server runs takes the plugin down again, with 503s.
        down = run_cli(lumiku_env, "migrate", "downgrade", "--plugin", plugin.id, "--to", "-1")
        assert down.code == 0, down.err
        _wait_until(lambda: state(client)[0] == "migrations_pending", "it stayed up")
        assert state(client)[2] == (
            f"its database migrations are behind (at {plugin.id}_0001, head {plugin.id}_0002): "
            "run `lumiku migrate`"
        )
        assert client.get(f"{plugin.prefix}/items").status_code == 503
    assert started == [plugin.id]  # started once


def test_core_migrations_pending_keep_the_warning(
    database_url: str,  # an empty database of the backend under test, made for lumiku_env
    lumiku_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    app = build_test_app(lumiku_env, plugins=[PluginSpec(id="no_tables")], migrate_database=False)
    with TestClient(app) as client:
        assert (
            client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"][0]["state"]
            == "running"
        )
        assert (
            "lumiku_migrations_pending 1.0" in client.get("/metrics", headers=OPERATOR_HEADERS).text
        )
    assert "⚠️ Database migrations are not at head: run `lumiku migrate`" in caplog.text
