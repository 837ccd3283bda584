"""The plugins' migration branches: their sources, and which are not at head.

A plugin whose branch is not applied or behind is ``migrations_pending`` (it does not
serve: its tables are missing or old). The web process reads the status at startup and
then every ``MigrationWatch.interval``, so ``lumiku migrate`` run while it serves brings
such a plugin up without a restart (and a branch taken back by a downgrade takes it down).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import attrs
import sqlalchemy as sa

from lumiku.db import migrate
from lumiku.metrics import Metrics
from lumiku.plugins.dispatch import LOG_AND_GO_ON, HookDispatcher
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.state import PluginRecord, PluginState

logger = logging.getLogger("lumiku")

MIGRATE_COMMAND = "lumiku migrate"
DOWNGRADE_COMMAND = "lumiku migrate downgrade --plugin"


def migration_sources(
    registry: PluginRegistry, hooks: HookDispatcher | None = None
) -> list[migrate.MigrationSource]:
    """Return the core's source and those of the enabled plugins that have migrations.

    Enabled: loaded and not failed, including plugins waiting for Redis or for their
    migrations. A plugin whose ``register_migrations`` raises, or names a folder that does
    not exist, is logged and left out.
    """
    dispatcher = hooks or HookDispatcher(registry)
    records = [r for r in registry.loaded() if r.state is not PluginState.FAILED]
    sources = [migrate.core_source()]
    for record, location in dispatcher.each(
        "register_migrations", records, on_failure=LOG_AND_GO_ON, accept=_folder
    ):
        if location is not None:
            sources.append(migrate.MigrationSource(record.id, location))
    return sources


_REVISION_LINE = re.compile(r"""^revision\s*(?::[^=\n]*)?=\s*["']([^"'\n]+)["']""", re.M)


def _package_revisions(package: str) -> set[str]:
    """Return the revision ids written in the ``migrations`` folders of ``package``, read
    as text (the package is not imported: a plugin turned off stays unimported)."""
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return set()
    if found is None or not found.submodule_search_locations:
        return set()
    revisions: set[str] = set()
    for location in found.submodule_search_locations:
        root = Path(location)
        for path in root.rglob("*.py"):
            if "migrations" not in path.relative_to(root).parts[:-1]:
                continue
            try:
                match = _REVISION_LINE.search(path.read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
            if match:
                revisions.add(match.group(1))
    return revisions


def revision_owners(registry: PluginRegistry) -> Callable[[str], str | None]:
    """Return ``owner_of(revision)``: the installed plugin whose migration files hold it.

    For a revision id that does not name its plugin (``ac0003_held_jobs``) while the plugin
    is installed but gives no migration source (disabled, turned off, failed). The files
    are read on the first question only.
    """
    owners: dict[str, str] | None = None

    def owner_of(revision: str) -> str | None:
        nonlocal owners
        if owners is None:
            owners = {}
            for record in registry.sorted_records():
                if record.package:
                    for found in _package_revisions(record.package):
                        owners.setdefault(found, record.id)
        return owners.get(revision)

    return owner_of


def _folder(location: str | None) -> Path | None:
    if not location:
        return None
    folder = migrate.resolve_location(location)
    if not folder.is_dir():
        raise ValueError(f"the migrations folder {location!r} ({folder}) does not exist")
    return folder


@attrs.frozen
class MigrationReport:
    """Which branches are not at head: the core's, and each plugin's with a reason; and the
    revisions in the database that no enabled plugin knows (``orphans``)."""

    core_pending: bool
    plugins: dict[str, str]
    orphans: tuple[migrate.BranchStatus, ...] = ()

    @property
    def at_head(self) -> bool:
        """Return whether every branch is applied and at its head."""
        return not self.core_pending and not self.plugins


def _reason(row: migrate.BranchStatus) -> str:
    if row.state == "not_applied":
        return f"its database migrations are not applied: run `{MIGRATE_COMMAND}`"
    return (
        f"its database migrations are behind (at {row.current}, head {row.head}): "
        f"run `{MIGRATE_COMMAND}`"
    )


def read_migrations(
    engine: sa.Engine, registry: PluginRegistry, hooks: HookDispatcher | None = None
) -> MigrationReport:
    """Compare each branch in the database with its head (raises ``SQLAlchemyError``)."""
    rows = migrate.status(
        engine, migration_sources(registry, hooks), registry.records, revision_owners(registry)
    )
    pending = [row for row in rows if row.head and row.state in ("not_applied", "behind")]
    return MigrationReport(
        core_pending=any(row.branch == migrate.CORE_BRANCH for row in pending),
        plugins={row.branch: _reason(row) for row in pending if row.branch in registry.records},
        orphans=tuple(row for row in rows if row.state == "orphaned"),
    )


def orphan_advice(row: migrate.BranchStatus, registry: PluginRegistry) -> str:
    """Say whose an orphaned revision is and the exact way to remove its tables.

    A plugin's tables are dropped by its own ``downgrade()`` (it knows its tables, indexes
    and seed data), so the way always goes through the plugin's code: imported for the
    command when it is installed (``off_advice``), installed again for one command when it
    is not.
    """
    revision = row.current
    plugin_id = row.plugin
    if plugin_id is None:
        return (
            f"revision {revision} belongs to no installed plugin, and its id does not say "
            "whose it is. To drop its tables: install the plugin whose migrations include "
            f"{revision} again, run `{DOWNGRADE_COMMAND} <its id>`, then uninstall it; to "
            "keep its data, leave them (nothing else uses them)"
        )
    downgrade = f"`{DOWNGRADE_COMMAND} {plugin_id}`"
    record = registry.get(plugin_id)
    if record is None:
        return (
            f"plugin {plugin_id} is not installed, but its tables remain (revision "
            f"{revision}). To drop them: install the package that provides {plugin_id} "
            f"again, run {downgrade}, then uninstall it; to keep its data, leave them "
            "(nothing else uses them)"
        )
    if record.loaded and record.state is not PluginState.FAILED:
        return (
            f"the database is at revision {revision} of {plugin_id}, which the installed "
            f"version ({record.version}) does not have: install the version that wrote it "
            "again (and downgrade with it first, if you mean to go back)"
        )
    return off_advice(record, revision)


def off_advice(record: PluginRecord, revision: str | None) -> str:
    """Say that an installed plugin without a migration source (disabled, turned off or
    failed) keeps its tables, and how ``lumiku migrate downgrade`` takes them back.

    A plugin disabled by its configuration has its code imported for that command, so the
    downgrade runs while it stays disabled; one turned off by a toggle is never imported,
    so it must be turned on for that one command; a failed one must load first.
    """
    downgrade = f"`{DOWNGRADE_COMMAND} {record.id}`"
    kept = f"plugin {record.id} is installed but {record.describe()}: its tables are kept"
    at = f" (revision {revision})" if revision else ""
    if record.state is PluginState.FAILED:
        return f"{kept}{at}. To drop them, make it load, then run {downgrade}"
    if record.spec is None:  # turned off by a toggle: never imported
        return (
            f"{kept}{at}. To drop them, run {downgrade} with the plugin turned on for that "
            "command (not in LUMIKU_DISABLE_PLUGINS or lumiku.toml's [plugins] disable, "
            "listed in LUMIKU_PLUGINS if that is set, not in safe mode): a plugin turned off "
            "is never imported"
        )
    return f"{kept}{at}. To drop them, run {downgrade}: it runs while the plugin stays disabled"


def mark_pending_migrations(
    engine: sa.Engine, registry: PluginRegistry, hooks: HookDispatcher | None = None
) -> MigrationReport:
    """Read the migration status and put the plugins not at head in ``migrations_pending``."""
    report = read_migrations(engine, registry, hooks)
    registry.set_migrations_pending(report.plugins)
    return report


class MigrationWatch:
    """Read the migration status every ``interval`` seconds and apply it to the registry."""

    def __init__(
        self,
        engine: sa.Engine,
        registry: PluginRegistry,
        hooks: HookDispatcher,
        metrics: Metrics,
        *,
        interval: float = 10.0,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.hooks = hooks
        self.metrics = metrics
        self.interval = interval
        self._first = True
        self.core_pending: bool | None = None
        """Whether the core's migrations are not at head (``None``: not read yet)."""

    def check_now(self) -> list[str]:
        """Read the status once and apply it; return the plugins whose state changed.

        An unreachable database or unreadable scripts change nothing (the next check tries
        again).
        """
        try:
            report = read_migrations(self.engine, self.registry, self.hooks)
        except sa.exc.SQLAlchemyError as exc:
            logger.error("❌ Migration status unreadable: %s", type(exc).__name__)
            return []
        except Exception as exc:  # noqa: BLE001 - Alembic's errors must not stop the server
            logger.error("❌ Migration status unreadable: %s: %s", type(exc).__name__, exc)
            return []
        self.metrics.migrations_pending.set(0 if report.at_head else 1)
        self.core_pending = report.core_pending
        if self._first and not report.at_head:
            logger.warning("⚠️ Database migrations are not at head: run `%s`", MIGRATE_COMMAND)
        self._first = False
        changed = self.registry.set_migrations_pending(report.plugins)
        for plugin_id in changed:
            record = self.registry.records[plugin_id]
            if record.state.serving:
                # Not ✅ yet: its startup runs next, and the app says when it succeeded.
                logger.info("Plugin %s: its migrations are at head; starting it", plugin_id)
            else:
                logger.warning("⚠️ Plugin %s is now %s", plugin_id, record.describe())
        return changed

    async def run(self, on_change: Callable[[], Awaitable[object]] | None = None) -> None:
        """Check forever (until cancelled); await ``on_change()`` after a plugin changed."""
        while True:
            await asyncio.sleep(self.interval)
            if await asyncio.to_thread(self.check_now) and on_change is not None:
                await on_change()


def naming_advice(plugin_id: str, head: str) -> str:
    """Say why a plugin's head revision should be named after the plugin, and how."""
    return (
        f"the newest migration of {plugin_id} is {head}, which does not start with "
        f"'{plugin_id}_': if {plugin_id} is uninstalled, its tables cannot be named. Name "
        f"its next revision {plugin_id}_<step> (the plugin's author does)"
    )
