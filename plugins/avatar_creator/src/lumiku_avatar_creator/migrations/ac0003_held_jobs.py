"""Avatar Creator: generations become held jobs of the core kit (``lumiku.heldjobs``).

``avatar_generations`` gains the kit's columns (``unit_cost``, ``credits_charged``, item
counters, ``requeues``, ``lease_expires_at``, ``finished_at``) and loses the ones they
replace (``cost``, ``claimed_until``, ``completed_at``); a generation is a job of one item.

Revision ID: ac0003_held_jobs
Revises: ac0002_seed
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ac0003_held_jobs"
down_revision = "ac0002_seed"
branch_labels = None
depends_on = None  # needs no core table beyond users (ac0001 depends on it)

_STATUSES_BEFORE = "status IN ('pending', 'processing', 'completed', 'failed')"
_STATUSES_AFTER = "status IN ('pending', 'processing', 'completed', 'partial', 'failed')"
_ITEMS = (
    "items_completed >= 0 AND items_failed >= 0 AND items_completed + items_failed <= items_total"
)


def _integer(name: str, default: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=False, server_default=default)


def upgrade() -> None:
    with op.batch_alter_table("avatar_generations") as batch:
        batch.add_column(_integer("unit_cost", "0"))
        batch.add_column(_integer("credits_charged", "0"))
        batch.add_column(_integer("items_total", "1"))
        batch.add_column(_integer("items_completed", "0"))
        batch.add_column(_integer("items_failed", "0"))
        batch.add_column(_integer("requeues", "0"))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE avatar_generations SET unit_cost = cost, lease_expires_at = claimed_until, "
        "finished_at = completed_at, "
        "items_completed = CASE WHEN status = 'completed' THEN 1 ELSE 0 END, "
        "items_failed = CASE WHEN status = 'failed' THEN 1 ELSE 0 END, "
        "credits_charged = CASE WHEN status = 'completed' THEN cost ELSE 0 END"
    )
    with op.batch_alter_table("avatar_generations") as batch:
        batch.alter_column("items_total", server_default=None)
        batch.drop_column("cost")
        batch.drop_column("claimed_until")
        batch.drop_column("completed_at")
        batch.drop_constraint("ck_avatar_generations_status", type_="check")
        batch.create_check_constraint("ck_avatar_generations_status", _STATUSES_AFTER)
        batch.create_check_constraint("ck_avatar_generations_items", _ITEMS)
        batch.create_index("ix_avatar_generations_status_updated", ["status", "updated_at"])


def downgrade() -> None:
    with op.batch_alter_table("avatar_generations") as batch:
        batch.add_column(sa.Column("cost", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE avatar_generations SET cost = unit_cost, claimed_until = lease_expires_at, "
        "completed_at = finished_at, "
        "status = CASE WHEN status = 'partial' THEN 'failed' ELSE status END"
    )
    with op.batch_alter_table("avatar_generations") as batch:
        batch.drop_index("ix_avatar_generations_status_updated")
        batch.drop_constraint("ck_avatar_generations_items", type_="check")
        batch.drop_constraint("ck_avatar_generations_status", type_="check")
        batch.create_check_constraint("ck_avatar_generations_status", _STATUSES_BEFORE)
        batch.alter_column("cost", server_default=None)
        for name in (
            "finished_at",
            "lease_expires_at",
            "requeues",
            "items_failed",
            "items_completed",
            "items_total",
            "credits_charged",
            "unit_cost",
        ):
            batch.drop_column(name)
