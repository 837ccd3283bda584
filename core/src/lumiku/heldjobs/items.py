"""Items of held jobs: one row per item that finished, with its outcome and timing.

An item is one unit of a job's work (one pose of a pose generation; the whole avatar of an
avatar generation). Only finished items have a row, written in the same transaction as the
plugin's result and the job's counters, so a redelivered message finds the item done and
never redoes or recharges it. The table belongs to the core (migration ``0004_job_items``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs
import sqlalchemy as sa

from lumiku.db.metadata import metadata
from lumiku.db.types import UTCDateTime
from lumiku.heldjobs.columns import MAX_ERROR_MESSAGE

ItemStatus = Literal["completed", "failed"]

job_items = sa.Table(
    "job_items",
    metadata,
    sa.Column("job_table", sa.String(64), primary_key=True),
    sa.Column("job_id", sa.String(36), primary_key=True),
    sa.Column("item", sa.String(128), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.String(MAX_ERROR_MESSAGE), nullable=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('completed', 'failed')", name="status"),
)


@attrs.frozen
class JobItem:
    """One finished item of a job: its key, place in the job, outcome and timing."""

    item: str
    position: int
    status: ItemStatus
    started_at: datetime
    finished_at: datetime
    error_code: str | None = None
    error_message: str | None = None

    @property
    def seconds(self) -> float:
        """Return how long the item took."""
        return (self.finished_at - self.started_at).total_seconds()


def read_items(connection: sa.Connection, job_table: str, job_id: str) -> list[JobItem]:
    """Return the finished items of a job, in their order in the job."""
    rows = connection.execute(
        sa.select(job_items)
        .where(job_items.c.job_table == job_table, job_items.c.job_id == job_id)
        .order_by(job_items.c.position)
    ).mappings()
    return [
        JobItem(
            item=row["item"],
            position=row["position"],
            status=row["status"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            error_code=row["error_code"],
            error_message=row["error_message"],
        )
        for row in rows
    ]


def finished_keys(connection: sa.Connection, job_table: str, job_id: str) -> set[str]:
    """Return the keys of the items of a job that finished (completed or failed)."""
    return set(
        connection.execute(
            sa.select(job_items.c.item).where(
                job_items.c.job_table == job_table, job_items.c.job_id == job_id
            )
        ).scalars()
    )


def delete_items(connection: sa.Connection, job_table: str, job_ids: list[str]) -> None:
    """Delete the item rows of jobs the plugin deletes."""
    if job_ids:
        connection.execute(
            sa.delete(job_items).where(
                job_items.c.job_table == job_table, job_items.c.job_id.in_(job_ids)
            )
        )
