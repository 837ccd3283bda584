"""The columns every held-job table has, and the states a job goes through.

A plugin's job table (``avatar_generations``, ``pose_generations``) is its own: ``id`` (a
36-character string key), ``user_id``, the plugin's columns, then ``*job_columns()``::

    generations = sa.Table(
        "pose_generations", metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("project_id", ...),
        *job_columns(),
    )

Its migration creates the same columns (``job_columns()`` may be called from a migration:
the list only ever grows, through new core migrations of the kit's own).

States: ``pending`` (queued, or waiting for a retry) -> ``processing`` (claimed by one
delivery under a lease) -> ``completed`` (every item done), ``partial`` (some items failed),
``failed`` (nothing done). A job in ``pending`` or ``processing`` is open.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from lumiku.db.types import UTCDateTime

JobStatus = Literal["pending", "processing", "completed", "partial", "failed"]
JOB_STATUSES: tuple[JobStatus, ...] = ("pending", "processing", "completed", "partial", "failed")
OPEN_JOB_STATUSES: tuple[JobStatus, ...] = ("pending", "processing")
FINISHED_JOB_STATUSES: tuple[JobStatus, ...] = ("completed", "partial", "failed")
MAX_ERROR_MESSAGE = 500


def job_columns() -> list[sa.Column[Any]]:
    """Return fresh columns of the held-job state, for a plugin's job table.

    - ``status``: see the module docstring;
    - ``hold_id``, ``unit_cost``, ``credits_charged``: the credit hold placed at submit, the
      price of one item, and what was captured at the end (``unit_cost`` x items done);
    - ``items_total``, ``items_completed``, ``items_failed``: progress;
    - ``attempts`` (claims made), ``requeues`` (recoveries of a stalled job);
    - ``claim_id``, ``lease_expires_at``: the delivery working on it, and until when its
      lease (renewed by a heartbeat) keeps others off;
    - ``error_code``, ``error_message``: why it failed, in words a user can read;
    - ``created_at``, ``updated_at``, ``started_at``, ``finished_at``: timing (UTC).
    """
    return [
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hold_id", sa.String(36), nullable=True),
        sa.Column("unit_cost", sa.Integer, nullable=False, server_default="0"),
        sa.Column("credits_charged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("items_total", sa.Integer, nullable=False),
        sa.Column("items_completed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("items_failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("requeues", sa.Integer, nullable=False, server_default="0"),
        sa.Column("claim_id", sa.String(32), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.String(MAX_ERROR_MESSAGE), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
    ]


def job_constraints(table_name: str) -> list[Any]:
    """Return the checks and the recovery's index of a job table named ``table_name``."""
    statuses = ", ".join(repr(status) for status in JOB_STATUSES)
    return [
        sa.CheckConstraint(f"status IN ({statuses})", name=f"ck_{table_name}_status"),
        sa.CheckConstraint(
            "items_completed >= 0 AND items_failed >= 0 "
            "AND items_completed + items_failed <= items_total",
            name=f"ck_{table_name}_items",
        ),
        sa.Index(f"ix_{table_name}_status_updated", "status", "updated_at"),
    ]
