"""Run Alembic for the core and the enabled plugins: one branch each, one version table.

A plugin declares its version location (``"pkg:migrations"``) through the
``register_migrations`` hook; its first revision has ``branch_labels=(plugin_id,)`` and
``depends_on`` the core head it needs. A revision in the database whose scripts are gone
(the plugin was uninstalled) is reported as an orphan and stood in for by an empty stub,
so the other branches still upgrade.
"""

from __future__ import annotations

import importlib.resources
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import attrs
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

CORE_BRANCH = "core"
VERSION_TABLE = "alembic_version"

BranchState = Literal["up_to_date", "behind", "not_applied", "orphaned", "plugin_off"]


@attrs.frozen
class MigrationSource:
    """Where one branch's revision files live."""

    branch: str
    location: Path


@attrs.frozen
class BranchStatus:
    """One branch's revision in the database compared with the newest in the code.

    A revision in the database that no source knows is ``plugin_off`` when it belongs to
    an installed plugin that has no source (disabled, turned off or failed: its branch and
    tables are kept, they are its own), else ``orphaned``. For both, ``plugin`` is the
    plugin it belongs to when its id tells (``plugin_of_revision``), and ``branch`` is that
    id, else ``unknown:<revision>``.
    """

    branch: str
    current: str | None
    head: str | None
    state: BranchState
    plugin: str | None = None


# ``<plugin id>_<step of 4+ digits>`` and an optional ``_<words>`` that start with a letter.
_PLUGIN_REVISION = re.compile(r"^(?P<plugin>[a-z][a-z0-9_]*?)_\d{4,}(?:_[a-z][a-z0-9_]*)?$")


def plugin_of_revision(revision: str, known: Iterable[str] = ()) -> str | None:
    """Return the plugin id a revision id names, or ``None`` when it names none.

    Plugin revisions are named ``<plugin id>_<step>`` (``avatar_creator_0004``,
    ``payments_duitku_0002_refunds``), so the version table alone tells whose an orphaned
    revision is once its scripts are gone. The longest of the ``known`` plugin ids the
    revision starts with wins; otherwise the id is what comes before the first
    ``_<digits>`` step. Older revision ids (``ac0003_held_jobs``) name no plugin: while
    their plugin is installed, ``status``'s ``owner_of`` tells.
    """
    matching = [plugin_id for plugin_id in known if revision.startswith(plugin_id + "_")]
    if matching:
        return max(matching, key=len)
    found = _PLUGIN_REVISION.match(revision)
    if found is None or found.group("plugin") == CORE_BRANCH:
        return None
    return found.group("plugin")


def resolve_location(spec: str) -> Path:
    """Turn ``"package:folder"`` (or a plain path) into a directory path."""
    if ":" in spec and not Path(spec).is_absolute():
        package, _, folder = spec.partition(":")
        return Path(str(importlib.resources.files(package).joinpath(folder)))
    return Path(spec)


def core_source() -> MigrationSource:
    """Return the core's migration source."""
    return MigrationSource(CORE_BRANCH, resolve_location("lumiku.db.migrations:versions"))


def _stub_text(revision: str) -> str:
    return (
        f'"""Stand-in for revision {revision}, whose plugin is not installed."""\n'
        f"revision = {revision!r}\ndown_revision = None\nbranch_labels = None\n"
        "depends_on = None\n\n\ndef upgrade() -> None:\n    pass\n\n\n"
        "def downgrade() -> None:\n    pass\n"
    )


def _known_revisions(sources: Sequence[MigrationSource]) -> set[str]:
    script = ScriptDirectory.from_config(_config(sources, None))
    return {rev.revision for rev in script.walk_revisions()}


def _config(sources: Sequence[MigrationSource], stub_dir: Path | None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resolve_location("lumiku.db:migrations")))
    locations = [str(source.location) for source in sources]
    if stub_dir is not None:
        locations.append(str(stub_dir))
    # Alembic splits version_locations on this separator; paths never contain a newline.
    config.set_main_option("path_separator", "newline")
    config.set_main_option("version_locations", "\n".join(locations))
    return config


def _database_revisions(connection: sa.Connection) -> list[str]:
    return list(MigrationContext.configure(connection).get_current_heads())


def orphaned_revisions(connection: sa.Connection, sources: Sequence[MigrationSource]) -> list[str]:
    """Return revisions recorded in the database that no installed source knows."""
    known = _known_revisions(sources)
    return [rev for rev in _database_revisions(connection) if rev not in known]


@contextmanager
def _configured(connection: sa.Connection, sources: Sequence[MigrationSource]) -> Iterator[Config]:
    orphans = orphaned_revisions(connection, sources)
    # End the transaction that reading the version table began: ``migrations/env.py`` begins
    # the run's one transaction itself (after SQLite's foreign-key pragma, which only
    # changes outside a transaction).
    connection.commit()
    with tempfile.TemporaryDirectory(prefix="lumiku-orphans-") as tmp:
        stub_dir: Path | None = None
        if orphans:
            stub_dir = Path(tmp)
            for revision in orphans:
                (stub_dir / f"orphan_{revision}.py").write_text(_stub_text(revision))
        config = _config(sources, stub_dir)
        config.attributes["connection"] = connection
        yield config


def upgrade(
    engine: sa.Engine, sources: Sequence[MigrationSource], branch: str | None = None
) -> None:
    """Upgrade every branch (or only ``branch``) to its head."""
    with engine.connect() as connection, _configured(connection, sources) as config:
        command.upgrade(config, f"{branch}@head" if branch else "heads")
        connection.commit()


def downgrade(
    engine: sa.Engine, sources: Sequence[MigrationSource], branch: str, target: str = "base"
) -> None:
    """Downgrade one branch to ``target`` (``base`` removes the branch's tables)."""
    with engine.connect() as connection, _configured(connection, sources) as config:
        command.downgrade(config, f"{branch}@{target}")
        connection.commit()


def status(
    engine: sa.Engine,
    sources: Sequence[MigrationSource],
    known_plugins: Iterable[str] = (),
    owner_of: Callable[[str], str | None] | None = None,
) -> list[BranchStatus]:
    """Compare each branch's revision in the database with its head in the code.

    ``known_plugins`` (the installed plugins' ids) help name the plugin of a revision no
    source knows, and tell a disabled plugin's (``plugin_off``) from an orphan;
    ``owner_of(revision)`` names the installed plugin whose files hold a revision, for ids
    that do not name their plugin (``lumiku.plugins.migrations.revision_owners``).
    """
    installed = set(known_plugins)
    config = _config(sources, None)
    script = ScriptDirectory.from_config(config)
    with engine.connect() as connection:
        applied = _database_revisions(connection)
    known = {rev.revision for rev in script.walk_revisions()}
    result: list[BranchStatus] = []
    for source in sources:
        heads = script.get_revisions(f"{source.branch}@head")
        head = heads[0].revision if heads else None
        branch_revisions = {rev.revision for rev in _branch_revisions(script, source.branch)}
        current = next((rev for rev in applied if rev in branch_revisions), None)
        if current is None:
            state: BranchState = "not_applied"
        elif current == head:
            state = "up_to_date"
        else:
            state = "behind"
        result.append(BranchStatus(source.branch, current, head, state))
    with_source = {source.branch for source in sources}
    for revision in applied:
        if revision not in known:
            owner = owner_of(revision) if owner_of is not None else None
            plugin = owner or plugin_of_revision(revision, installed)
            branch = plugin or f"unknown:{revision}"
            off = plugin is not None and plugin in installed and plugin not in with_source
            kept: BranchState = "plugin_off" if off else "orphaned"
            result.append(BranchStatus(branch, revision, None, kept, plugin))
    return result


def unnamed_heads(sources: Sequence[MigrationSource]) -> list[tuple[str, str]]:
    """Return ``(plugin id, head revision)`` for each plugin branch whose head revision id
    does not start with ``<plugin id>_``: uninstalled, that branch could not be named."""
    script = ScriptDirectory.from_config(_config(sources, None))
    found = []
    for source in sources:
        if source.branch == CORE_BRANCH:
            continue
        for head in script.get_revisions(f"{source.branch}@head"):
            if head is not None and not head.revision.startswith(source.branch + "_"):
                found.append((source.branch, head.revision))
    return found


def _branch_revisions(script: ScriptDirectory, branch: str) -> list[Any]:
    try:
        return list(script.iterate_revisions(f"{branch}@head", "base"))
    except Exception:  # noqa: BLE001 - an unknown branch label has no revisions
        return []


def at_head(engine: sa.Engine, sources: Sequence[MigrationSource]) -> bool:
    """Return whether every branch is applied and at its head."""
    return all(item.state == "up_to_date" for item in status(engine, sources) if item.head)
