"""The migration sources of a registry: the core's branch plus each enabled plugin's."""

from __future__ import annotations

from lumiku.db import migrate
from lumiku.plugins.dispatch import LOG_AND_GO_ON, HookDispatcher
from lumiku.plugins.registry import PluginRegistry


def migration_sources(
    registry: PluginRegistry, hooks: HookDispatcher | None = None
) -> list[migrate.MigrationSource]:
    """Return the core's source and those of the enabled plugins that have migrations.

    A plugin whose ``register_migrations`` raises is logged and left out.
    """
    dispatcher = hooks or HookDispatcher(registry)
    sources = [migrate.core_source()]
    for record, location in dispatcher.each(
        "register_migrations", registry.serving(), on_failure=LOG_AND_GO_ON
    ):
        if location:
            sources.append(migrate.MigrationSource(record.id, migrate.resolve_location(location)))
    return sources
