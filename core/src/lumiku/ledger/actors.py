"""Core actors of the ledger: the hold sweeper and the periodic reconciliation."""

from __future__ import annotations

import logging
from datetime import timedelta

import dramatiq

from lumiku.jobs.broker import declare_actor
from lumiku.ledger.service import Ledger

logger = logging.getLogger("lumiku.ledger")

SWEEP_ACTOR = "core.sweep_holds"
RECONCILE_ACTOR = "core.reconcile"


def declare_ledger_actors(
    broker: dramatiq.Broker, ledger: Ledger
) -> list[dramatiq.Actor[..., None]]:
    """Declare the sweeper and the reconciliation on ``broker`` (queue ``core``)."""

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
        declare_actor(broker, sweep_holds, name=SWEEP_ACTOR, queue="core", max_retries=3),
        declare_actor(broker, reconcile, name=RECONCILE_ACTOR, queue="core", max_retries=1),
    ]
