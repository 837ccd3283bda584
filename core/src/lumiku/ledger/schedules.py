"""Periodic jobs of the ledger: the hold sweeper and the reconciliation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from lumiku.jobs.schedule import Schedule
from lumiku.ledger.reconciliation import ReconciliationCheck
from lumiku.ledger.service import Ledger

logger = logging.getLogger("lumiku.ledger")

SWEEP_EVERY = timedelta(minutes=1)
RECONCILE_EVERY = timedelta(hours=1)


def ledger_schedules(
    ledger: Ledger, checks: Callable[[], Mapping[str, ReconciliationCheck]] = dict
) -> list[Schedule]:
    """Return the sweeper (``core.sweep_holds``) and reconciliation (``core.reconcile``).

    ``checks`` returns, at each run, the checks the reconciliation adds to the ledger's own
    (the serving plugins').
    """

    def sweep_holds() -> None:
        released = ledger.expire_holds()
        if released:
            logger.info("released %d expired holds", released)

    def reconcile() -> None:
        findings = ledger.reconcile(expiry_grace=timedelta(minutes=5), checks=checks())
        for finding in findings:
            logger.error(
                "❌ ledger finding %s/%s for user %s: expected %d, actual %d (difference %+d)",
                finding.source,
                finding.kind,
                finding.user_id,
                finding.expected,
                finding.actual,
                finding.difference,
            )

    return [
        Schedule("sweep_holds", SWEEP_EVERY, sweep_holds),
        Schedule("reconcile", RECONCILE_EVERY, reconcile, time_limit=timedelta(minutes=30)),
    ]
