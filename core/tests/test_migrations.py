"""``lumiku migrate``: one Alembic branch per plugin, status, ``--plugin``, downgrade to base,
and branches whose plugin is gone.

The plugins here are real distributions to ``importlib.metadata`` (a package plus a
``.dist-info`` on ``sys.path``, see ``install_plugin``), so the CLI discovers them through
their entry points exactly as it does installed packages.
"""

from __future__ import annotations

import importlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
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
    tmp_path: Path,
) -> None:
    plugin = install_plugin()
    assert run_cli(lumiku_env, "migrate").code == 0
    package = shutil.copytree(plugin.site / plugin.package, tmp_path / "kept" / plugin.package)
    dist_info = shutil.copytree(plugin.dist_info, tmp_path / "kept" / plugin.dist_info.name)
    plugin.uninstall()

    advice = (
        f"plugin {plugin.id} is not installed, but its tables remain (revision "
        f"{plugin.id}_0002). To drop them: install the package that provides {plugin.id} "
        f"again, run `lumiku migrate downgrade --plugin {plugin.id}`, then uninstall it; to "
        "keep its data, leave them (nothing else uses them)"
    )
    status = run_cli(lumiku_env, "migrate", "status")
    assert status.code == 0, status.err
    assert f"⚠️ {plugin.id}: {plugin.id}_0002 / head - [orphaned] ({advice})" in status.out
    rows = status_rows(run_cli, lumiku_env)
    assert rows[plugin.id]["state"] == "orphaned"
    assert (rows[plugin.id]["plugin"], rows[plugin.id]["advice"]) == (plugin.id, advice)
    assert rows["core"]["state"] == "up_to_date"

    upgrade = run_cli(lumiku_env, "migrate")
    assert upgrade.code == 0, upgrade.err
    assert f"⚠️ {advice}; left as is" in upgrade.out
    # The tables stay: uninstalling a package never drops a deployer's data.
    assert set(plugin.tables) <= table_names(lumiku_env["DATABASE_URL"])

    assert f"⚠️ {advice}" in run_cli(lumiku_env, "doctor").out
    listing = run_cli(lumiku_env, "plugins", "list").out.splitlines()
    assert [plugin.id, "-", "orphaned"] in [line.split()[:3] for line in listing]

    client = make_client()  # the installed plugins, without the uninstalled one
    assert client.get("/health").status_code == 200
    assert plugin.id not in {
        p["id"] for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }
    assert client.get(f"{plugin.prefix}/hello").status_code == 404

    # Following the steps drops the tables and ends the report.
    shutil.copytree(package, plugin.site / plugin.package)
    shutil.copytree(dist_info, plugin.dist_info)
    importlib.invalidate_caches()
    downgraded = run_cli(lumiku_env, "migrate", "downgrade", "--plugin", plugin.id)
    assert downgraded.code == 0, downgraded.err
    plugin.uninstall()
    assert not set(plugin.tables) & table_names(lumiku_env["DATABASE_URL"])
    after = run_cli(lumiku_env, "migrate", "status")
    assert "orphaned" not in after.out
    assert "⚠️" not in run_cli(lumiku_env, "plugins", "list").out


def test_a_revision_of_an_older_naming_is_reported_as_unknown(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    env = {**lumiku_env, "LUMIKU_PLUGINS": ""}
    assert run_cli(env, "migrate").code == 0
    engine = create_engine(env["DATABASE_URL"])
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO alembic_version VALUES ('xy0007_things')"))
    finally:
        engine.dispose()
    rows = status_rows(run_cli, env)
    assert rows["unknown:xy0007_things"]["state"] == "orphaned"
    assert rows["unknown:xy0007_things"]["plugin"] is None
    assert rows["unknown:xy0007_things"]["advice"].startswith(
        "revision xy0007_things belongs to no installed plugin, and its id does not say whose "
        "it is. To drop its tables: install the plugin whose migrations include xy0007_things "
        "again, run `lumiku migrate downgrade --plugin <its id>`, then uninstall it"
    )
    assert run_cli(env, "migrate").code == 0  # the other branches still upgrade


def test_older_revisions_of_the_shipped_plugins_are_theirs_while_they_are_installed(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    env = {**lumiku_env, "LUMIKU_PLUGINS": ""}  # installed, none enabled
    assert run_cli(env, "migrate").code == 0
    engine = create_engine(env["DATABASE_URL"])
    try:
        with engine.begin() as connection:
            for revision in ("pd0001_tables", "ac0003_held_jobs"):
                connection.execute(sa.text(f"INSERT INTO alembic_version VALUES ('{revision}')"))
    finally:
        engine.dispose()
    rows = status_rows(run_cli, env)
    assert rows["payments_duitku"]["state"] == "plugin_off"
    assert rows["payments_duitku"]["current"] == "pd0001_tables"
    assert rows["avatar_creator"]["state"] == "plugin_off"
    assert not [branch for branch in rows if branch.startswith("unknown:")]
    listing = run_cli(env, "plugins", "list").out
    assert "unknown:" not in listing
    assert "orphaned" not in listing
    assert "[orphaned]" not in run_cli(env, "migrate", "status").out


def test_a_disabled_plugin_is_named_and_can_take_its_tables_back(
    install_plugin: Callable[..., Any], run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    toggled = install_plugin()
    unconfigured = install_plugin(spec_extra=', requires=("config:LUMIKU_LKT_NEEDED",)')
    assert run_cli({**lumiku_env, "LUMIKU_LKT_NEEDED": "1"}, "migrate").code == 0

    env = {**lumiku_env, "LUMIKU_DISABLE_PLUGINS": toggled.id}
    rows = status_rows(run_cli, env)
    # Installed but disabled: the branch is the plugin's, not an orphan's.
    assert rows[toggled.id]["state"] == "plugin_off"
    assert rows[unconfigured.id]["state"] == "plugin_off"
    assert rows[toggled.id]["advice"] == (
        f"plugin {toggled.id} is installed but disabled (by env): its tables are kept "
        f"(revision {toggled.id}_0002). To drop them, run `lumiku migrate downgrade --plugin "
        f"{toggled.id}` with the plugin turned on for that command (not in "
        "LUMIKU_DISABLE_PLUGINS or lumiku.toml's [plugins] disable, listed in LUMIKU_PLUGINS "
        "if that is set, not in safe mode): a plugin turned off is never imported"
    )
    # Disabled by its configuration, the downgrade runs while it stays disabled: say so.
    assert rows[unconfigured.id]["advice"] == (
        f"plugin {unconfigured.id} is installed but disabled (LUMIKU_LKT_NEEDED is not set): "
        f"its tables are kept (revision {unconfigured.id}_0002). To drop them, run `lumiku "
        f"migrate downgrade --plugin {unconfigured.id}`: it runs while the plugin stays disabled"
    )
    text = run_cli(env, "migrate", "status").out
    assert f"⚠️ {unconfigured.id}: {unconfigured.id}_0002 / head - [plugin_off]" in text
    assert "orphaned" not in text
    assert "orphaned" not in run_cli(env, "plugins", "list").out
    assert rows[toggled.id]["advice"] in run_cli(env, "doctor").out
    refused = run_cli(env, "migrate", "downgrade", "--plugin", toggled.id)
    assert refused.code == 2  # turned off: its code is not even imported
    assert f"❌ {rows[toggled.id]['advice'].replace(f' (revision {toggled.id}_0002)', '')}" in (
        refused.err
    )
    # Disabled for want of a setting, its code still takes its tables back.
    taken_back = run_cli(env, "migrate", "downgrade", "--plugin", unconfigured.id)
    assert taken_back.code == 0, taken_back.err
    assert not set(unconfigured.tables) & table_names(lumiku_env["DATABASE_URL"])
    enabled = run_cli(lumiku_env, "migrate", "downgrade", "--plugin", toggled.id)
    assert enabled.code == 0, enabled.err
    assert not set(toggled.tables) & table_names(lumiku_env["DATABASE_URL"])


@pytest.mark.parametrize(
    ("revision", "known", "plugin"),
    [
        ("avatar_creator_0004", (), "avatar_creator"),
        ("payments_duitku_0002_refunds", (), "payments_duitku"),
        ("app_2024_0001", (), "app_2024"),
        ("shop_0002_year_2024", (), "shop"),
        ("lkt_1234abcd00_0002", (), "lkt_1234abcd00"),
        ("lkt_0002", ("lkt", "lkt_0002x"), "lkt"),
        ("shop_v2_0001", ("shop",), "shop"),  # a known id wins over the naming rule
        ("ac0003_held_jobs", (), None),  # told by the files of the installed plugin
        ("pd0001_tables", (), None),
        ("0005_purchase_once", (), None),
        ("core_0001", (), None),
    ],
)
def test_the_plugin_of_a_revision_is_told_by_its_id(
    revision: str, known: tuple[str, ...], plugin: str | None
) -> None:
    assert migrate.plugin_of_revision(revision, known) == plugin


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


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_failing_migration_changes_nothing(
    install_plugin: Callable[..., Any],
    run_cli: Callable[..., Any],
    lumiku_env: dict[str, str],
    request: pytest.FixtureRequest,
    database: str,
) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    env = {**lumiku_env, "DATABASE_URL": url or lumiku_env["DATABASE_URL"]}
    plugin = install_plugin()
    assert run_cli(env, "migrate", "--plugin", "core").code == 0
    path = plugin.site / plugin.package / "migrations" / f"{plugin.id}_0003.py"
    path.write_text(FAILING_MIGRATION.replace("@ID@", plugin.id))
    failed = run_cli(env, "migrate")
    assert failed.code == 1
    assert "❌ upgrade failed, nothing was changed: this migration is broken" in failed.err
    assert "RuntimeError" not in failed.err
    assert "Traceback" not in failed.err
    tables = table_names(env["DATABASE_URL"])
    assert f"{plugin.id}_half_done" not in tables
    # The whole run is one transaction: the steps before the broken one are undone too.
    assert not set(plugin.tables) & tables
    assert status_rows(run_cli, env)[plugin.id]["current"] is None


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_a_refused_downgrade_leaves_the_version_table_and_the_tables(
    install_plugin: Callable[..., Any],
    run_cli: Callable[..., Any],
    lumiku_env: dict[str, str],
    request: pytest.FixtureRequest,
    database: str,
) -> None:
    url = request.getfixturevalue("postgres_url") if database == "postgresql" else None
    env = {**lumiku_env, "DATABASE_URL": url or lumiku_env["DATABASE_URL"]}
    plugin = install_plugin()
    assert run_cli(env, "migrate").code == 0
    before = table_names(env["DATABASE_URL"])
    # The first step down (0002: drops a table, moves the version) succeeds, the second
    # refuses: as payments_duitku's pd0001_tables refuses while paid payments exist.
    first = plugin.site / plugin.package / "migrations" / f"{plugin.id}_0001.py"
    first.write_text(
        first.read_text().replace(
            "def downgrade():", 'def downgrade():\n    raise RuntimeError("1 item is kept")\n'
        )
    )
    failed = run_cli(env, "migrate", "downgrade", "--plugin", plugin.id)
    assert failed.code == 1
    assert f"❌ downgrade of {plugin.id} failed, nothing was changed: 1 item is kept" in failed.err
    assert "RuntimeError" not in failed.err
    assert table_names(env["DATABASE_URL"]) == before
    assert status_rows(run_cli, env)[plugin.id]["current"] == f"{plugin.id}_0002"


def test_a_plugin_head_not_named_after_its_plugin_is_pointed_out(
    install_plugin: Callable[..., Any], tmp_path: Path
) -> None:
    from lumiku.db.migrate import MigrationSource, resolve_location, unnamed_heads

    folder = tmp_path / "versions"
    folder.mkdir()
    (folder / "xy0001_things.py").write_text(
        'revision = "xy0001_things"\ndown_revision = None\nbranch_labels = ("lkt_named",)\n'
        'depends_on = "0001_users"\n\n\ndef upgrade():\n    pass\n\n\n'
        "def downgrade():\n    pass\n"
    )
    plugin = install_plugin()
    sources = [
        migrate.core_source(),
        MigrationSource("lkt_named", folder),
        MigrationSource(plugin.id, resolve_location(f"{plugin.package}:migrations")),
    ]
    assert unnamed_heads(sources) == [("lkt_named", "xy0001_things")]


def test_a_database_ahead_of_the_installed_plugin_says_so(
    install_plugin: Callable[..., Any], run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    plugin = install_plugin()
    assert run_cli(lumiku_env, "migrate").code == 0
    # An older version of the package: it lacks the revision the database is at.
    (plugin.site / plugin.package / "migrations" / f"{plugin.id}_0002.py").unlink()
    importlib.invalidate_caches()
    orphans = [
        row for row in status_rows(run_cli, lumiku_env).values() if row["state"] == "orphaned"
    ]
    assert [(row["plugin"], row["current"]) for row in orphans] == [
        (plugin.id, f"{plugin.id}_0002")
    ]
    assert orphans[0]["advice"] == (
        f"the database is at revision {plugin.id}_0002 of {plugin.id}, which the installed "
        "version (1.2.3) does not have: install the version that wrote it again (and "
        "downgrade with it first, if you mean to go back)"
    )
