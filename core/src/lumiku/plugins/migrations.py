"""The migration sources of a registry: the core's branch plus each enabled plugin's."""

from __future__ import annotations

import logging

from lumiku.db import migrate
from lumiku.plugins.registry import HookFailed, PluginRegistry

logger = logging.getLogger("lumiku.plugins")


def migration_sources(registry: PluginRegistry) -> list[migrate.MigrationSource]:
    """Return the core's source and those of the enabled plugins that have migrations."""
    sources = [migrate.core_source()]
    for record in registry.serving():
        if "register_migrations" not in record.hooks:
            continue
        try:
            location = registry.call("register_migrations", record.id)
        except HookFailed as exc:
            logger.error("❌ %s", exc)
            continue
        if location:
            sources.append(migrate.MigrationSource(record.id, migrate.resolve_location(location)))
    return sources
