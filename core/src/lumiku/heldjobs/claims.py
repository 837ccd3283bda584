"""The state changes of a held job, each one conditional update on the plugin's job table.

``pending -> processing`` is a claim: one delivery takes the job under a lease (a
``claim_id`` and ``lease_expires_at``), which its heartbeat renews. Work done under a claim
lands only while the claim holds (``WHERE claim_id = :claim``), so concurrent or repeated
deliveries of one job cannot both finish an item or the job, and a job failed or taken
over meanwhile cannot be finished by a delivery that lost it. ``processing -> pending``
gives a claim back for a retry, or takes a lapsed one away (recovery). ``finish`` decides
``completed``, ``partial`` or ``failed`` from the job's own counters in the same statement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku.heldjobs.columns import MAX_ERROR_MESSAGE, OPEN_JOB_STATUSES


@attrs.frozen
class Counts:
    """A job's item counters right after an item was counted."""

    completed: int
    failed: int
    total: int


@attrs.frozen
class Finished:
    """A job this call finished: what to capture from its hold and what to tell the user."""

    job_id: str
    user_id: str
    status: str
    hold_id: str | None
    credits_charged: int
    items_completed: int
    items_failed: int
    items_total: int
    error_code: str | None
    error_message: str | None
    row: Any = attrs.field(default=None, eq=False, repr=False)
    """The whole job row as it was finished (a mapping), when the caller had it."""


def finished_from(row: Any) -> Finished:
    """Return the ``Finished`` view of a finished job row (keeping the row)."""
    return Finished(
        job_id=row["id"],
        user_id=row["user_id"],
        status=row["status"],
        hold_id=row["hold_id"],
        credits_charged=int(row["credits_charged"]),
        items_completed=int(row["items_completed"]),
        items_failed=int(row["items_failed"]),
        items_total=int(row["items_total"]),
        error_code=row["error_code"],
        error_message=row["error_message"],
        row=row,
    )


def _unclaimed(table: sa.Table, now: datetime) -> sa.ColumnElement[bool]:
    """Open and run by nobody: pending, or processing under a lease that ran out."""
    c = table.c
    return sa.or_(
        c.status == "pending", sa.and_(c.status == "processing", c.lease_expires_at < now)
    )


def _message(text: str) -> str:
    return text[:MAX_ERROR_MESSAGE]


def claim(
    connection: sa.Connection,
    table: sa.Table,
    job_id: str,
    claim_id: str,
    *,
    now: datetime,
    lease: timedelta,
    created_after: datetime | None = None,
) -> Any:
    """Take a pending job (or one whose claim lapsed) for one attempt.

    Return the claimed row as it is after the claim (a mapping, read by the update's
    ``RETURNING``: no second round trip), or ``None`` when the job was not claimable:
    finished, claimed by a live delivery, missing, or created before ``created_after``.
    """
    c = table.c
    condition = [c.id == job_id, _unclaimed(table, now)]
    if created_after is not None:
        condition.append(c.created_at >= created_after)
    statement = (
        sa.update(table)
        .where(*condition)
        .values(
            status="processing",
            claim_id=claim_id,
            lease_expires_at=now + lease,
            attempts=c.attempts + 1,
            started_at=sa.func.coalesce(c.started_at, now),
            updated_at=now,
        )
        .returning(*table.c)
    )
    return connection.execute(statement).mappings().first()


def renew(
    connection: sa.Connection,
    table: sa.Table,
    job_id: str,
    claim_id: str,
    *,
    now: datetime,
    lease: timedelta,
) -> bool:
    """Extend the lease of a claim still held; return False when the claim was lost."""
    c = table.c
    statement = (
        sa.update(table)
        .where(c.id == job_id, c.status == "processing", c.claim_id == claim_id)
        .values(lease_expires_at=now + lease)
    )
    return connection.execute(statement).rowcount == 1


def give_back(
    connection: sa.Connection,
    table: sa.Table,
    job_id: str,
    claim_id: str,
    *,
    now: datetime,
    code: str,
    message: str,
) -> bool:
    """Put a claimed job back to ``pending`` after an attempt that will be retried."""
    c = table.c
    statement = (
        sa.update(table)
        .where(c.id == job_id, c.status == "processing", c.claim_id == claim_id)
        .values(
            status="pending",
            claim_id=None,
            lease_expires_at=None,
            error_code=code,
            error_message=_message(message),
            updated_at=now,
        )
    )
    return connection.execute(statement).rowcount == 1


def count_item(
    connection: sa.Connection,
    table: sa.Table,
    job_id: str,
    claim_id: str,
    *,
    now: datetime,
    lease: timedelta,
    completed: bool,
    insert: tuple[sa.Table, Mapping[str, Any]] | None = None,
) -> Counts | None:
    """Count one finished item (and renew the lease) if the claim still holds.

    Run in the transaction that records the item: it locks the job row, so the item's
    row and result land only under a live claim. With ``insert`` (a table and the values
    of one row: the item's row), that row is inserted only when the item was counted; on
    PostgreSQL by the same statement (a data-modifying ``WITH``: one round trip), else by
    a second one. Return the counters as this update left them (its ``RETURNING``, read
    under the row's lock), or ``None`` when the claim is lost.
    """
    c = table.c
    counter = c.items_completed if completed else c.items_failed
    statement = (
        sa.update(table)
        .where(c.id == job_id, c.status == "processing", c.claim_id == claim_id)
        .values({counter.name: counter + 1, "updated_at": now, "lease_expires_at": now + lease})
        .returning(c.items_completed, c.items_failed, c.items_total)
    )
    if insert is not None and connection.dialect.name == "postgresql":
        into, values = insert
        counted = statement.cte("counted")
        row_values = sa.select(*(sa.literal(values[name], into.c[name].type) for name in values))
        inserted = (
            sa.insert(into).from_select(list(values), row_values.select_from(counted)).cte("item")
        )
        row = connection.execute(sa.select(counted).add_cte(inserted)).first()
    else:
        row = connection.execute(statement).first()
        if row is not None and insert is not None:
            connection.execute(sa.insert(insert[0]).values(dict(insert[1])))
    if row is None:
        return None
    return Counts(int(row.items_completed), int(row.items_failed), int(row.items_total))


def finish(
    connection: sa.Connection,
    table: sa.Table,
    job_id: str,
    *,
    now: datetime,
    claim_id: str | None = None,
    code: str | None = None,
    message: str | None = None,
    charge: bool = True,
) -> Finished | None:
    """Finish an open job with what it did; return it, or ``None`` if another call did.

    The status comes from the counters: every item done is ``completed``, some done is
    ``partial``, none is ``failed``; items never reached count as failed. ``code`` and
    ``message`` say why the job ended early (kept only when it did not complete).
    ``credits_charged`` becomes ``unit_cost`` x items completed (0 when not ``charge``: the
    hold is gone and nothing can be captured). With ``claim_id`` only that
    claim's holder may finish the job; without, an unclaimed or lapsed one (recovery).
    """
    c = table.c
    all_done = c.items_completed == c.items_total
    status = sa.case((all_done, "completed"), (c.items_completed > 0, "partial"), else_="failed")
    condition: list[Any] = [c.id == job_id]
    if claim_id is not None:
        condition += [c.status == "processing", c.claim_id == claim_id]
    else:
        condition += [_unclaimed(table, now)]
    statement = (
        sa.update(table)
        .where(*condition)
        .values(
            status=status,
            credits_charged=c.unit_cost * c.items_completed if charge else 0,
            claim_id=None,
            lease_expires_at=None,
            error_code=sa.case((all_done, None), else_=sa.literal(code, sa.String())),
            error_message=sa.case(
                (all_done, None), else_=sa.literal(_message(message or ""), sa.String())
            ),
            updated_at=now,
            finished_at=now,
        )
        .returning(*table.c)
    )
    # The whole row: the charge's history line is described from it without a re-read.
    row = connection.execute(statement).mappings().first()
    return None if row is None else finished_from(row)


def lapsed(
    connection: sa.Connection, table: sa.Table, *, now: datetime, limit: int = 100
) -> list[tuple[str, int]]:
    """Return ``(id, requeues)`` of processing jobs whose lease ran out (worker gone)."""
    c = table.c
    rows = connection.execute(
        sa.select(c.id, c.requeues)
        .where(c.status == "processing", c.lease_expires_at < now)
        .order_by(c.updated_at)
        .limit(limit)
    )
    return [(row.id, int(row.requeues)) for row in rows]


def requeue(
    connection: sa.Connection,
    table: sa.Table,
    job_id: str,
    *,
    now: datetime,
    count: bool,
) -> bool:
    """Put an unclaimed or lapsed job back to ``pending`` (counting a requeue if ``count``)."""
    c = table.c
    statement = (
        sa.update(table)
        .where(
            c.id == job_id,
            _unclaimed(table, now),
        )
        .values(
            status="pending",
            claim_id=None,
            lease_expires_at=None,
            requeues=c.requeues + (1 if count else 0),
            updated_at=now,
        )
    )
    return connection.execute(statement).rowcount == 1


def pending_since(
    connection: sa.Connection, table: sa.Table, before: datetime, *, limit: int = 500
) -> list[str]:
    """Return ids of pending jobs not touched since ``before``."""
    c = table.c
    return list(
        connection.execute(
            sa.select(c.id)
            .where(c.status == "pending", c.updated_at < before)
            .order_by(c.updated_at)
            .limit(limit)
        ).scalars()
    )


def too_old(
    connection: sa.Connection,
    table: sa.Table,
    *,
    created_before: datetime,
    now: datetime,
    limit: int = 100,
) -> list[str]:
    """Return ids of open jobs created before ``created_before`` that nobody runs now."""
    c = table.c
    return list(
        connection.execute(
            sa.select(c.id)
            .where(
                c.created_at < created_before,
                _unclaimed(table, now),
            )
            .limit(limit)
        ).scalars()
    )


@attrs.frozen
class Failed:
    """A job failed by a delete: its hold and what it earned before (to capture)."""

    job_id: str
    hold_id: str | None
    credits_charged: int


def fail_open(
    connection: sa.Connection,
    table: sa.Table,
    condition: sa.ColumnElement[bool],
    *,
    now: datetime,
    code: str,
    message: str,
) -> list[Failed]:
    """Fail every open job matching ``condition`` at once, finished items kept.

    For a plugin deleting what the jobs work on (a project): run it first in the delete's
    transaction so that a worker's next item or finish (conditional on its claim) loses
    the race. Return ``(id, hold_id)`` of the jobs failed; settle their holds after commit.
    """
    c = table.c
    statement = (
        sa.update(table)
        .where(condition, c.status.in_(OPEN_JOB_STATUSES))
        .values(
            status=sa.case((c.items_completed > 0, "partial"), else_="failed"),
            credits_charged=c.unit_cost * c.items_completed,
            claim_id=None,
            lease_expires_at=None,
            error_code=code,
            error_message=_message(message),
            updated_at=now,
            finished_at=now,
        )
        .returning(c.id, c.hold_id, c.credits_charged)
    )
    return [
        Failed(row.id, row.hold_id, int(row.credits_charged))
        for row in connection.execute(statement)
    ]


def read_job(connection: sa.Connection, table: sa.Table, job_id: str) -> Any:
    """Return the job row (a mapping), or ``None``."""
    return connection.execute(sa.select(table).where(table.c.id == job_id)).mappings().first()


def read_jobs(connection: sa.Connection, table: sa.Table, job_ids: Sequence[str]) -> list[Any]:
    """Return the rows of several jobs."""
    if not job_ids:
        return []
    return list(
        connection.execute(sa.select(table).where(table.c.id.in_(job_ids))).mappings().all()
    )
