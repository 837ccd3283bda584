"""Periodic jobs of the ledger: the hold sweeper and the reconciliation."""

from __future__ import annotations

import logging
from datetime import timedelta

from lumiku.jobs.schedule import Schedule
from lumiku.ledger.service import Ledger

logger = logging.getLogger("lumiku.ledger")

SWEEP_EVERY = timedelta(minutes=1)
RECONCILE_EVERY = timedelta(hours=1)


def ledger_schedules(ledger: Ledger) -> list[Schedule]:
    """Return the sweeper (``core.sweep_holds``) and reconciliation (``core.reconcile``)."""

    def sweep_holds() -> None:
        released = ledger.expire_holds()
        if released:
            logger.info("released %d expired holds", released)

    def reconcile() -> None:
        findings = ledger.reconcile(expiry_grace=timedelta(minutes=5))
        for finding in findings:
            logger.error(
                "❌ ledger finding %s for user %s: expected %d, actual %d (difference %+d)",
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
