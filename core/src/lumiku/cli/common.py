"""What every subcommand needs: settings, the plugin registry, logging, output marks."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from lumiku.db.engine import create_engine
from lumiku.errors import ConfigurationError
from lumiku.plugins.discovery import discover
from lumiku.plugins.registry import PluginRegistry
from lumiku.settings import Settings, load_settings

OK, WARN, FAIL = "✅", "⚠️", "❌"


def configure_logging(level: str = "INFO") -> None:
    """Send log lines to stderr in the operators' format."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def settings_or_exit() -> Settings:
    """Load settings; print every problem and exit 2 when they are invalid."""
    try:
        return load_settings()
    except ConfigurationError as exc:
        print(f"{FAIL} {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None


@contextmanager
def database(settings: Settings) -> Iterator[sa.Engine]:
    """Yield an engine on the configured database, disposed when the command ends."""
    engine = create_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def load_registry(settings: Settings) -> PluginRegistry:
    """Discover and evaluate the installed plugins (Redis assumed as configured)."""
    registry = PluginRegistry(settings, redis_available=settings.redis.enabled)
    registry.load(discover())
    return registry


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON."""
    import json

    print(json.dumps(data, indent=2, sort_keys=True))
