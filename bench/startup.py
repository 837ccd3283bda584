"""Startup time: ``create_app`` plus the lifespan's startup, with the three shipped plugins and
with 100 generated plugins, measured in the same run; prints the medians and their ratio.

Run: ``.venv/bin/python bench/startup.py [--runs N] [--plugins N]``. SQLite, Redis off.
The database is migrated once beforehand, so what is timed is what a restart costs:
settings in hand, discover or take the plugins, build the runtime and the app, then run
the lifespan (entered directly, no HTTP client) up to "Server started": database and
migration check, storage layout, the in-process worker, every plugin's ``startup``.
Shutdown is timed apart.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from lumiku import Call, CheckResult, PluginContext, PluginSpec, field, get, hookimpl, post
from lumiku.app import create_app
from lumiku.db import create_engine, migrate
from lumiku.plugins.discovery import discover
from lumiku.plugins.migrations import migration_sources
from lumiku.plugins.registry import PluginRegistry, PluginSource
from lumiku.settings import Settings, load_settings


@attrs.frozen
class Note:
    """The body of a dummy plugin's POST route."""

    text: str = field(min_length=1, max_length=200)
    priority: int = field(default=0, ge=0, le=9)


def dummy_plugin(index: int) -> PluginSpec:
    """Return a plugin with three declared routes, a health check and a startup hook."""
    plugin_id = f"bench_{index:03d}"

    def register_routes(ctx: PluginContext) -> list[Any]:
        def show(_call: Call[None, None]) -> dict[str, str]:
            return {"plugin": ctx.id}

        def add(call: Call[Note, None]) -> dict[str, str]:
            return {"text": call.body.text}

        def item(call: Call[None, None]) -> dict[str, Any]:
            return {"id": call.path["item_id"]}

        return [
            get("/", show),
            post("/notes", add, body=Note, status=201),
            get("/items/{item_id:int}", item),
        ]

    def register_health_checks(ctx: PluginContext) -> dict[str, Any]:
        return {"ready": lambda: CheckResult("ok")}

    def startup(ctx: PluginContext) -> None:
        ctx.state["ready"] = True

    hooks = types.SimpleNamespace(
        plugin=plugin_id,  # keeps the namespaces distinct for pluggy
        register_routes=hookimpl(register_routes),
        register_health_checks=hookimpl(register_health_checks),
        startup=hookimpl(startup),
    )
    return PluginSpec(
        id=plugin_id,
        title=f"Bench {index}",
        credits={"note": index % 5},
        hooks=hooks,  # type: ignore[arg-type]
    )


def environment(workdir: Path) -> dict[str, str]:
    config = workdir / "lumiku.toml"
    config.write_text("")
    return {
        "LUMIKU_ENV": "test",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "LUMIKU_STORAGE_DIR": str(workdir / "uploads"),
        "LUMIKU_CONFIG": str(config),
        "JWT_SECRET": secrets.token_urlsafe(48),
        "REDIS_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        # So that all three shipped plugins run (payments needs its merchant settings).
        "DUITKU_MERCHANT_CODE": "DBENCH",
        "DUITKU_API_KEY": "bench-not-a-real-key",
    }


def prepare_database(settings: Settings, plugins: Iterable[PluginSource]) -> None:
    registry = PluginRegistry(settings, redis_available=False)
    registry.load(plugins)
    engine = create_engine(settings.database_url)
    try:
        migrate.upgrade(engine, migration_sources(registry))
    finally:
        engine.dispose()


def measure(
    settings: Settings, plugins: Callable[[], list[PluginSource]], runs: int
) -> tuple[list[float], list[float], int]:
    """Return startup and shutdown durations (seconds) of ``runs`` runs, and the route count."""

    async def once() -> tuple[float, float, int]:
        started = time.perf_counter()
        app = create_app(settings, plugins=plugins())
        async with app.router.lifespan_context(app):
            ready = time.perf_counter()
            registry = app.state.runtime.registry
            assert all(record.state.serving for record in registry.records.values())
            routes = sum(len(record.routes) for record in registry.records.values())
            stopping = time.perf_counter()
        return ready - started, time.perf_counter() - stopping, routes

    startups, shutdowns = [], []
    routes = 0
    for _ in range(runs):
        startup, shutdown, routes = asyncio.run(once())
        startups.append(startup)
        shutdowns.append(shutdown)
    return startups, shutdowns, routes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per configuration")
    parser.add_argument("--plugins", type=int, default=100, help="generated plugins")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("lumiku").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)

    dummies = [dummy_plugin(i) for i in range(args.plugins)]
    configurations: dict[str, Callable[[], list[PluginSource]]] = {
        "no plugins": list,
        "3 shipped plugins": lambda: list(discover()),
        f"{args.plugins} generated plugins": lambda: list(dummies),
    }
    with tempfile.TemporaryDirectory(prefix="lumiku-bench-") as tmp:
        settings = load_settings(environment(Path(tmp)))
        prepare_database(settings, discover())
        # Warm up: the first app pays for imports and Alembic's script parsing caches.
        measure(settings, configurations["3 shipped plugins"], 1)
        results = {}
        for name, plugins in configurations.items():
            startups, shutdowns, routes = measure(settings, plugins, args.runs)
            results[name] = statistics.median(startups)
            print(
                f"{name:<24} startup median {results[name] * 1000:8.1f} ms"
                f"  (min {min(startups) * 1000:7.1f}, max {max(startups) * 1000:7.1f}; "
                f"{routes} plugin routes; shutdown median "
                f"{statistics.median(shutdowns) * 1000:6.1f} ms; {args.runs} runs)"
            )
    shipped = results["3 shipped plugins"]
    many = results[f"{args.plugins} generated plugins"]
    print(
        f"ratio {args.plugins} generated / 3 shipped: {many / shipped:.2f}x "
        f"({(many - results['no plugins']) / args.plugins * 1000:.2f} ms per generated plugin "
        "above the empty core)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
