"""Settle a finished job's credit hold: capture what its items earned, release the rest.

The ledger resolves a hold exactly once, so settling again (a redelivery, the recovery)
changes nothing. ``unit_cost`` x items completed is captured; a job that did nothing has
its hold released. A hold already given back (expired before the job finished) cannot be
charged: the user keeps the work for free and the event is logged.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from lumiku.errors import Conflict
from lumiku.heldjobs.claims import Finished
from lumiku.heldjobs.kind import JobKind, JobServices


def settle(
    kind: JobKind,
    services: JobServices,
    hold_id: str | None,
    charged: int,
    *,
    connection: sa.Connection | None = None,
) -> bool:
    """Capture ``charged`` of the hold (release it when 0); return whether it is settled.

    With ``connection`` the ledger writes in the caller's transaction (a savepoint), so the
    job's final status and its charge commit together. Database errors raise (the caller
    retries); a hold resolved in another way is logged.
    """
    if not hold_id:
        return True
    ledger, logger = services.ledger, services.logger
    # Outside a transaction, skip a settled hold without a write. Inside one, ask no other
    # connection (SQLite's single writer would wait for this very transaction).
    if connection is None and not ledger.get_hold(hold_id).is_open:
        return True
    try:
        if charged > 0:
            ledger.capture(hold_id, charged, connection=connection)
        else:
            ledger.release(hold_id, connection=connection)
    except Conflict as exc:
        logger.warning("⚠️ %s: hold %s could not be settled: %s", kind.actor_name, hold_id, exc)
        return False
    return True


def settle_row(kind: JobKind, services: JobServices, row: Any) -> bool:
    """Settle the hold of a finished job row (a no-op for open jobs and settled holds)."""
    if row["status"] not in ("completed", "partial", "failed"):
        return False
    return settle(kind, services, row["hold_id"], int(row["credits_charged"]))


def announce(kind: JobKind, services: JobServices, finished: Finished) -> None:
    """Send the job's final event to its owner, if the kind publishes events."""
    services.markers.discard(kind.actor_name, finished.job_id)
    if kind.events is None:
        return
    error = None
    if finished.error_code:
        error = {"code": finished.error_code, "message": finished.error_message or ""}
    kind.events.finished(
        services.publisher,
        finished.user_id,
        finished.job_id,
        status=finished.status,
        completed=finished.items_completed,
        failed=finished.items_failed,
        total=finished.items_total,
        credits_charged=finished.credits_charged,
        error=error,
    )


def conclude(kind: JobKind, services: JobServices, finished: Finished) -> None:
    """Settle a job this process just finished and tell its owner."""
    settle(kind, services, finished.hold_id, finished.credits_charged)
    announce(kind, services, finished)
