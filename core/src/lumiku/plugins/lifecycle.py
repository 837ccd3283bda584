"""``startup`` and ``shutdown`` of the plugins of one web process.

A plugin is started once, when it first serves: at boot, or later when what kept it from
serving is fixed without a restart (Redis came back, its migrations were applied). It is
shut down when the app stops, if it was started and did not fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lumiku.plugins.dispatch import FAIL_STARTUP, LOG_AND_GO_ON, HookDispatcher
from lumiku.plugins.registry import PluginRegistry
from lumiku.plugins.state import PluginRecord, PluginState


class PluginLifecycle:
    """Call each plugin's ``startup`` once when it first serves and its ``shutdown`` at the end.

    ``context`` returns the ``PluginContext`` handed to the hooks.
    """

    def __init__(
        self,
        registry: PluginRegistry,
        hooks: HookDispatcher,
        context: Callable[[PluginRecord], Any],
    ) -> None:
        self._registry = registry
        self._hooks = hooks
        self._context = context
        self._started: dict[str, PluginRecord] = {}

    async def start_serving(self) -> list[str]:
        """Start the plugins that serve now and were never started; return their ids.

        A raising ``startup`` (or awaitable) makes its plugin ``failed`` (``startup_error``).
        """
        started = []
        for record in self._registry.serving():
            if record.id in self._started:
                continue
            # Recorded before the await: a second caller meanwhile never starts it twice.
            self._started[record.id] = record
            started.append(record.id)
            await self._hooks.call_async(
                "startup", record, {"ctx": self._context(record)}, on_failure=FAIL_STARTUP
            )
        return started

    async def stop(self) -> None:
        """Shut down the started plugins that did not fail, in the order of their ids."""
        for _plugin_id, record in sorted(self._started.items()):
            if record.state is PluginState.FAILED:
                continue
            await self._hooks.call_async(
                "shutdown", record, {"ctx": self._context(record)}, on_failure=LOG_AND_GO_ON
            )
        self._started.clear()
