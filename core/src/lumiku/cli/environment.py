"""What subcommands open: the settings, the database and the plugin registry."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from lumiku.cli.console import FAIL, WARN
from lumiku.db.engine import create_engine
from lumiku.plugins.discovery import discover
from lumiku.plugins.registry import PluginRegistry
from lumiku.settings import Settings, read_settings, settings_error


def settings_or_exit() -> Settings:
    """Load settings; print every problem and exit 2 when they are invalid.

    The report lists the core's problems and the plugins' together: those that stop the
    startup in production (``PluginRegistry.configuration_problems``) as problems, and the
    plugins disabled for their configuration after them (⚠️), so one run shows everything
    to fix.
    """
    settings, problems = read_settings()
    if not problems:
        return settings
    registry = load_registry(settings)
    blocking = registry.configuration_problems()
    print(f"{FAIL} {settings_error(problems + blocking).message}", file=sys.stderr)
    shown = {p["variable"] for p in blocking}
    for line in registry.unconfigured():
        if line.split(":", 1)[0] not in shown:
            print(f"{WARN} {line}", file=sys.stderr)
    raise SystemExit(2)


@contextmanager
def database(settings: Settings) -> Iterator[sa.Engine]:
    """Yield an engine on the configured database, disposed when the command ends."""
    engine = create_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def configured_database() -> Iterator[sa.Engine]:
    """Yield an engine on the deployment's database, for a plugin's CLI command.

    The settings are read as ``lumiku migrate`` reads them (environment, ``lumiku.toml``);
    invalid settings print every problem and exit 2. The engine is disposed afterwards.
    """
    with database(settings_or_exit()) as engine:
        yield engine


def load_registry(settings: Settings) -> PluginRegistry:
    """Discover and evaluate the installed plugins (Redis assumed as configured)."""
    registry = PluginRegistry(settings, redis_available=settings.redis.enabled)
    registry.load(discover())
    return registry


def plugins_or_exit(settings: Settings, *, warn: bool = True) -> PluginRegistry:
    """Load the plugins; print the production configuration errors and exit 2 if any.

    ``warn``: print the configuration warnings too (``lumiku serve`` does not: the app it
    starts logs them, and they would show twice).

    A plugin ``required_in_production`` whose configuration is incomplete stops ``lumiku
    serve`` and ``lumiku worker`` in production (see ``PluginRegistry.configuration_errors``).
    """
    registry = load_registry(settings)
    for warning in registry.configuration_warnings() if warn else ():
        print(f"{WARN} {warning}", file=sys.stderr)
    errors = registry.configuration_errors()
    for error in errors:
        print(f"{FAIL} {error}", file=sys.stderr)
    if errors:
        print(
            f"{FAIL} fix the settings above, or turn the plugins off with LUMIKU_DISABLE_PLUGINS",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return registry
