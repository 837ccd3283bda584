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

MAX_LINE = 200
"""The longest history line a describer's text is cut to."""


def settle(
    kind: JobKind,
    services: JobServices,
    hold_id: str | None,
    charged: int,
    row: Any = None,
    *,
    job_id: str | None = None,
    connection: sa.Connection | None = None,
) -> bool:
    """Capture ``charged`` of the hold (release it when 0); return whether it is settled.

    The capture's history line is ``kind.describe`` of the job's row (``row``, else read
    from the table; a row already deleted gets the default line). With ``connection`` the
    ledger writes in the caller's transaction (a savepoint), so the job's final status and
    its charge commit together; ``job_id`` then names the job. Database errors raise (the
    caller retries); a hold resolved in another way is logged.
    """
    if not hold_id:
        return True
    ledger, logger = services.ledger, services.logger
    if connection is None:
        # Skip a settled hold without a write. Inside a transaction ask no other connection
        # (SQLite's single writer would wait for this very transaction): the ledger's
        # conditional update decides there.
        hold = ledger.get_hold(hold_id)
        if not hold.is_open:
            return True
        job_id = hold.reference.id
    try:
        if charged > 0:
            reason = _reason(kind, services, job_id or "", row, connection)
            ledger.capture(hold_id, charged, reason=reason, connection=connection)
        else:
            ledger.release(hold_id, connection=connection)
    except Conflict as exc:
        logger.warning("⚠️ %s: hold %s could not be settled: %s", kind.actor_name, hold_id, exc)
        return False
    return True


def _reason(
    kind: JobKind,
    services: JobServices,
    job_id: str,
    row: Any,
    connection: sa.Connection | None = None,
) -> str | None:
    """Return ``kind.describe`` of the job's row, or ``None`` (the ledger's default line)."""
    if kind.describe is None:
        return None
    if row is None:
        table = kind.table
        query = sa.select(table).where(table.c.id == job_id)
        if connection is not None:
            row = connection.execute(query).mappings().first()
        else:
            with services.engine.connect() as own:
                row = own.execute(query).mappings().first()
        if row is None:
            return None  # deleted with what it worked on: the default line names the work
    try:
        line = kind.describe(row)
    except Exception:  # a describer's bug must not keep credits held
        services.logger.exception("❌ %s: describe() failed for job %s", kind.actor_name, job_id)
        return None
    line = " ".join(str(line).split())
    return line[:MAX_LINE] or None


def settle_row(kind: JobKind, services: JobServices, row: Any) -> bool:
    """Settle the hold of a finished job row (a no-op for open jobs and settled holds)."""
    if row["status"] not in ("completed", "partial", "failed"):
        return False
    return settle(kind, services, row["hold_id"], int(row["credits_charged"]), row)


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
