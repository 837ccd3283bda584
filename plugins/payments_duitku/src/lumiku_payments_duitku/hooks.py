"""Hook implementations of the Duitku payments plugin: thin, they hand over to the services."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from starlette.routing import BaseRoute

from lumiku import (
    CheckResult,
    HealthCheck,
    PluginContext,
    ReconciliationCheck,
    Schedule,
    hookimpl,
)
from lumiku_payments_duitku.commands import add_commands
from lumiku_payments_duitku.reconciliation import reconciliation_checks
from lumiku_payments_duitku.routes import build_routes
from lumiku_payments_duitku.services import services_for


@hookimpl
def register_routes(ctx: PluginContext) -> list[BaseRoute]:
    """Return the plugin's routes (``/api/payments``)."""
    return build_routes(ctx)


@hookimpl
def register_migrations() -> str:
    """Return the plugin's Alembic branch (label ``payments_duitku``)."""
    return "lumiku_payments_duitku:migrations"


@hookimpl
def register_schedules(ctx: PluginContext) -> list[Schedule]:
    """Return the poller: every ``DUITKU_POLL_EVERY`` seconds, resolve open payments."""

    def poll() -> None:
        services_for(ctx).poller.run()

    every = timedelta(seconds=ctx.settings.poll_every)
    return [Schedule("poll", every, poll, time_limit=timedelta(minutes=10))]


@hookimpl
def register_reconciliation_checks() -> dict[str, ReconciliationCheck]:
    """Return the check that every paid payment has exactly one purchase entry, and back."""
    return reconciliation_checks()


@hookimpl
def register_health_checks(ctx: PluginContext) -> dict[str, HealthCheck]:
    """Report which Duitku environment payments go to (never the key or the merchant)."""

    def duitku() -> CheckResult:
        settings = services_for(ctx).settings
        return CheckResult("ok", f"Duitku {settings.environment}")

    return {"duitku": duitku}


@hookimpl
def register_commands(cli: argparse._SubParsersAction[Any]) -> None:
    """Add ``lumiku payments-duitku emulator``."""
    add_commands(cli)


@hookimpl
def shutdown(ctx: PluginContext) -> None:
    """Close the Duitku client's connections."""
    services = ctx.state.get("services")
    if services is not None:
        services.close()
