"""``PluginLifecycle``: ``startup`` once when a plugin first serves, ``shutdown`` at the end."""

from __future__ import annotations

import asyncio
import types
from pathlib import Path
from typing import Any

from lumiku import PluginSpec, hard, hookimpl
from lumiku.plugins.dispatch import HookDispatcher
from lumiku.plugins.lifecycle import PluginLifecycle
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.state import PluginRecord
from lumiku.settings import load_settings


def plugin(plugin_id: str, events: list[str], *requires: Any, fail: bool = False) -> PluginSpec:
    def startup(ctx: str) -> None:
        events.append(f"start {ctx}")
        if fail:
            raise RuntimeError("no model server")

    async def shutdown(ctx: str) -> None:
        events.append(f"stop {ctx}")

    namespace = types.SimpleNamespace(
        name=plugin_id, startup=hookimpl(startup), shutdown=hookimpl(shutdown)
    )
    return PluginSpec(id=plugin_id, requires=requires, hooks=namespace)  # type: ignore[arg-type]


def lifecycle_of(tmp_path: Path, *specs: PluginSpec) -> tuple[PluginRegistry, PluginLifecycle]:
    config = tmp_path / "lumiku.toml"
    config.write_text("")
    settings = load_settings(
        {"LUMIKU_ENV": "test", "JWT_SECRET": "l" * 40, "LUMIKU_CONFIG": str(config)}
    )
    registry = PluginRegistry(settings, redis_available=False)
    registry.load(specs)
    return registry, PluginLifecycle(registry, HookDispatcher(registry), context_of)


def context_of(record: PluginRecord) -> str:
    """Stand in for the ``PluginContext``: the hooks here only print it."""
    return record.id


def test_a_plugin_is_started_once_when_it_first_serves_and_stopped_at_the_end(
    tmp_path: Path,
) -> None:
    events: list[str] = []
    registry, lifecycle = lifecycle_of(
        tmp_path,
        plugin("queue", events, hard("redis")),
        plugin("plain", events),
        plugin("broken", events, fail=True),
    )

    async def scenario() -> list[list[str]]:
        first = await lifecycle.start_serving()
        again = await lifecycle.start_serving()
        registry.set_redis_available(True)  # "queue" serves now
        later = await lifecycle.start_serving()
        registry.set_redis_available(False)
        registry.set_redis_available(True)
        never_twice = await lifecycle.start_serving()
        await lifecycle.stop()
        return [first, again, later, never_twice]

    assert asyncio.run(scenario()) == [["broken", "plain"], [], ["queue"], []]
    assert events == [
        "start broken",
        "start plain",
        "start queue",
        "stop plain",  # "broken" failed at startup: no shutdown
        "stop queue",
    ]
    assert registry.records["broken"].reason_code.value == "startup_error"
