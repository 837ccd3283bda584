"""Collect the reconciliation checks that serving plugins contribute.

``register_reconciliation_checks`` is called at every reconciliation run, for the plugins
serving at that moment (their tables are there), so a plugin that comes up or goes down
is followed without a restart. A plugin's check ``purchases`` is named
``<plugin id>.purchases``: the ``source`` of the findings it reports.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lumiku.plugins.dispatch import LOG_AND_GO_ON, HookDispatcher, UnusableResult
from lumiku.plugins.registry import PluginRegistry

if TYPE_CHECKING:  # the plugins package does not depend on the ledger at runtime
    from lumiku.ledger.reconciliation import ReconciliationCheck

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,34}$")


def _named_checks(result: Any) -> dict[str, ReconciliationCheck]:
    checks = dict(result or {})
    for name, check in checks.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise UnusableResult(f"check name {name!r} is not snake_case of at most 35 characters")
        if not callable(check):
            raise UnusableResult(f"check {name!r} is not callable")
    return checks


def contributed_checks(
    registry: PluginRegistry, hooks: HookDispatcher
) -> dict[str, ReconciliationCheck]:
    """Return the serving plugins' checks by ``<plugin id>.<name>``; a failing hook is
    logged (and counted) and its plugin contributes nothing this time."""
    found: dict[str, ReconciliationCheck] = {}
    for record, checks in hooks.each(
        "register_reconciliation_checks",
        registry.serving(),
        on_failure=LOG_AND_GO_ON,
        accept=_named_checks,
    ):
        for name, check in checks.items():
            found[f"{record.id}.{name}"] = check
    return found
