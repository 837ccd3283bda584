"""The hooks a plugin may implement. All synchronous, keyword arguments only, returning data.

An implementation may take any subset of a hook's arguments. ``startup`` and ``shutdown``
may return an awaitable; the host awaits it. See ``docs/plugins.md`` for each hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

PROJECT = "lumiku"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

if TYPE_CHECKING:
    import argparse

    import dramatiq
    import socketio
    from starlette.routing import BaseRoute

    from lumiku.health import HealthCheck
    from lumiku.images.provider import ImageProvider
    from lumiku.jobs.schedule import Schedule
    from lumiku.ledger.reconciliation import ReconciliationCheck
    from lumiku.plugins.context import PluginContext


class LumikuHooks:
    """Hook specifications; method names are the hook names."""

    @hookspec
    def register_routes(self, ctx: PluginContext) -> list[BaseRoute]:  # type: ignore[empty-body]
        """Return Starlette routes, mounted under the plugin's ``route_prefix``."""

    @hookspec
    def register_migrations(self) -> str:  # type: ignore[empty-body]
        """Return the Alembic version location of the plugin, e.g. ``"my_plugin:migrations"``."""

    @hookspec
    def register_actors(  # type: ignore[empty-body]
        self, ctx: PluginContext, broker: dramatiq.Broker
    ) -> list[dramatiq.Actor[Any, Any]]:
        """Declare Dramatiq actors on ``broker``.

        Actor names are ``<plugin_id>.<name>`` and the queue is ``<plugin_id>``.
        """

    @hookspec
    def register_schedules(self, ctx: PluginContext) -> list[Schedule]:  # type: ignore[empty-body]
        """Return periodic jobs: each runs on a worker every ``Schedule.every``.

        Each becomes actor ``<plugin_id>.<name>`` on queue ``<plugin_id>``; the web process
        enqueues it when due. A plugin never runs its own timer from ``startup``.
        """

    @hookspec
    def register_health_checks(self, ctx: PluginContext) -> dict[str, HealthCheck]:  # type: ignore[empty-body]
        """Return named health checks.

        They are shown at ``<route_prefix>/health`` and in ``/health/detailed``.
        """

    @hookspec
    def register_realtime(self, ctx: PluginContext) -> list[socketio.AsyncNamespace]:  # type: ignore[empty-body]
        """Return Socket.IO namespaces served on the same port as the HTTP app."""

    @hookspec
    def register_commands(self, cli: argparse._SubParsersAction[Any]) -> None:
        """Add subcommands to the ``lumiku`` CLI; set ``func`` on each parser."""

    @hookspec
    def register_image_providers(self) -> dict[str, ImageProvider]:  # type: ignore[empty-body]
        """Return image providers by name, offered to every plugin."""

    @hookspec
    def register_reconciliation_checks(self) -> dict[str, ReconciliationCheck]:  # type: ignore[empty-body]
        """Return named checks that ``lumiku credits reconcile`` and the periodic
        reconciliation run after the ledger's own.

        A check takes a connection and returns ``lumiku.Discrepancy`` records.
        """

    @hookspec
    def startup(self, ctx: PluginContext) -> Any:
        """Prepare the plugin when the app starts; may return an awaitable."""

    @hookspec
    def shutdown(self, ctx: PluginContext) -> Any:
        """Release the plugin's resources when the app stops; may return an awaitable."""


HOOK_NAMES: tuple[str, ...] = tuple(name for name in vars(LumikuHooks) if not name.startswith("_"))
