"""``lumiku migrate``: one Alembic branch per plugin, status, ``--plugin``, downgrade to base,
and branches whose plugin is gone.

The plugins here are real distributions to ``importlib.metadata`` (a package plus a
``.dist-info`` on ``sys.path``, see ``install_plugin``), so the CLI discovers them through
their entry points exactly as it does installed packages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku.db import create_engine, migrate
from lumiku.testing import OPERATOR_HEADERS


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def status_rows(run_cli: Callable[..., Any], env: dict[str, str], *extra: str) -> dict[str, Any]:
    result = run_cli(env, "migrate", "status", "--json", *extra)
    assert result.code == 0, result.err
    return {row["branch"]: row for row in json.loads(result.out)}


def test_migrate_upgrades_core_and_each_plugin_branch(
    install_plugin: Callable[..., Any], run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    plugin = install_plugin()
    before = status_rows(run_cli, lumiku_env)
    assert before["core"]["state"] == "not_applied"
    assert before[plugin.id] == {
        "branch": plugin.id,
        "current": None,
        "head": f"{plugin.id}_0002",
        "state": "not_applied",
    }

    result = run_cli(lumiku_env, "migrate")
    assert result.code == 0, result.err
    assert "✅ migrations applied: " in result.out
    assert plugin.id in result.out
    assert set(plugin.tables) <= table_names(lumiku_env["DATABASE_URL"])

    after = status_rows(run_cli, lumiku_env)
    assert after["core"]["state"] == "up_to_date"
    assert after[plugin.id]["current"] == f"{plugin.id}_0002"
    assert after[plugin.id]["state"] == "up_to_date"
    again = run_cli(lumiku_env, "migrate")
    assert again.code == 0, again.err

    text = run_cli(lumiku_env, "migrate", "status")
    assert f"✅ {plugin.id}: {plugin.id}_0002 / head {plugin.id}_0002 [up_to_date]" in text.out


def test_the_plugin_option_limits_upgrade_and_status(
    install_plugin: Callable[..., Any], run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    plugin = install_plugin()
    assert run_cli(lumiku_env, "migrate", "--plugin", "core").code == 0
    tables = table_names(lumiku_env["DATABASE_URL"])
    assert "users" in tables
    assert not set(plugin.tables) & tables
    only = status_rows(run_cli, lumiku_env, "--plugin", plugin.id)
    assert list(only) == [plugin.id]
    assert only[plugin.id]["state"] == "not_applied"

    assert run_cli(lumiku_env, "migrate", "--plugin", plugin.id).code == 0
    assert set(plugin.tables) <= table_names(lumiku_env["DATABASE_URL"])
    assert status_rows(run_cli, lumiku_env, "--plugin", plugin.id)[plugin.id]["state"] == (
        "up_to_date"
    )

    unknown = run_cli(lumiku_env, "migrate", "--plugin", "no_such_plugin")
    assert unknown.code == 2
    assert "no migrations known for 'no_such_plugin'" in unknown.err
    assert "core" in unknown.err
    assert plugin.id in unknown.err


def test_a_plugin_branch_downgrades_alone(
    install_plugin: Callable[..., Any], run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    plugin = install_plugin()
    other = install_plugin()
    assert run_cli(lumiku_env, "migrate").code == 0
    url = lumiku_env["DATABASE_URL"]

    step = run_cli(lumiku_env, "migrate", "downgrade", "--plugin", plugin.id, "--to", "-1")
    assert step.code == 0, step.err
    tables = table_names(url)
    assert plugin.tables[0] in tables
    assert plugin.tables[1] not in tables
    assert status_rows(run_cli, lumiku_env)[plugin.id]["state"] == "behind"

    result = run_cli(lumiku_env, "migrate", "downgrade", "--plugin", plugin.id)
    assert result.code == 0, result.err
    assert f"✅ {plugin.id} downgraded to base" in result.out
    tables = table_names(url)
    assert not set(plugin.tables) & tables
    assert set(other.tables) <= tables
    assert {"users", "credit_accounts"} <= tables
    rows = status_rows(run_cli, lumiku_env)
    assert rows[plugin.id]["state"] == "not_applied"
    assert rows[other.id]["state"] == "up_to_date"
    assert rows["core"]["state"] == "up_to_date"

    assert run_cli(lumiku_env, "migrate").code == 0
    assert set(plugin.tables) <= table_names(url)

    needs_plugin = run_cli(lumiku_env, "migrate", "downgrade")
    assert needs_plugin.code == 2
    assert "downgrade needs --plugin ID" in needs_plugin.err


def test_a_branch_whose_plugin_is_gone_is_reported_not_a_crash(
    install_plugin: Callable[..., Any],
    run_cli: Callable[..., Any],
    lumiku_env: dict[str, str],
    make_client: Callable[..., TestClient],
) -> None:
    plugin = install_plugin()
    assert run_cli(lumiku_env, "migrate").code == 0
    plugin.uninstall()

    status = run_cli(lumiku_env, "migrate", "status")
    assert status.code == 0, status.err
    orphan = f"unknown:{plugin.id}_0002: {plugin.id}_0002 / head - [orphaned]"
    assert orphan in status.out
    assert "⚠️" in status.out
    rows = status_rows(run_cli, lumiku_env)
    assert rows[f"unknown:{plugin.id}_0002"]["state"] == "orphaned"
    assert rows["core"]["state"] == "up_to_date"

    upgrade = run_cli(lumiku_env, "migrate")
    assert upgrade.code == 0, upgrade.err
    assert f"revision {plugin.id}_0002 in the database belongs to no installed plugin" in (
        upgrade.out
    )
    # The tables stay: uninstalling a package never drops a deployer's data.
    assert set(plugin.tables) <= table_names(lumiku_env["DATABASE_URL"])

    doctor = run_cli(lumiku_env, "doctor")
    assert f"⚠️ revision {plugin.id}_0002 belongs to no installed plugin" in doctor.out

    client = make_client()  # the installed plugins, without the uninstalled one
    assert client.get("/health").status_code == 200
    assert plugin.id not in {
        p["id"] for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    assert client.get(f"{plugin.prefix}/hello").status_code == 404


def test_migrations_run_through_the_library_api(
    install_plugin: Callable[..., Any], database_url: str
) -> None:
    from lumiku.db.migrate import MigrationSource, resolve_location

    plugin = install_plugin()
    sources = [
        migrate.core_source(),
        MigrationSource(plugin.id, resolve_location(f"{plugin.package}:migrations")),
    ]
    engine = create_engine(database_url)
    try:
        assert not migrate.at_head(engine, sources)
        migrate.upgrade(engine, sources)
        assert migrate.at_head(engine, sources)
        migrate.downgrade(engine, sources, plugin.id)
        states = {row.branch: row.state for row in migrate.status(engine, sources)}
        assert states == {"core": "up_to_date", plugin.id: "not_applied"}
    finally:
        engine.dispose()


FAILING_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "@ID@_0003"
down_revision = "@ID@_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("@ID@_half_done", sa.Column("id", sa.Integer, primary_key=True))
    raise RuntimeError("this migration is broken")


def downgrade():
    op.drop_table("@ID@_half_done")
"""


@pytest.mark.postgres
def test_a_failing_migration_rolls_back_its_step_on_postgresql(
    install_plugin: Callable[..., Any],
    run_cli: Callable[..., Any],
    lumiku_env: dict[str, str],
    postgres_url: str,
) -> None:
    env = {**lumiku_env, "DATABASE_URL": postgres_url}
    plugin = install_plugin()
    path = plugin.site / plugin.package / "migrations" / f"{plugin.id}_0003.py"
    path.write_text(FAILING_MIGRATION.replace("@ID@", plugin.id))
    failed = run_cli(env, "migrate")
    assert failed.code == 1
    assert "migration failed and was rolled back" in failed.err
    assert "this migration is broken" in failed.err
    assert "Traceback" not in failed.err
    tables = table_names(postgres_url)
    assert f"{plugin.id}_half_done" not in tables
    # Each revision commits on its own: the steps before the broken one stay applied.
    assert set(plugin.tables) <= tables
    assert status_rows(run_cli, env)[plugin.id]["current"] == f"{plugin.id}_0002"
