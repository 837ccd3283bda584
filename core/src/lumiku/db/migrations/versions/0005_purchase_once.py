"""Core: one purchase entry per payment; findings name the check that made them.

``credit_entries`` gets a partial unique index on ``(reference_type, reference_id)`` for
``kind = 'purchase'``, so the database refuses a second purchase entry for one payment
(PostgreSQL and SQLite both support ``CREATE UNIQUE INDEX ... WHERE``). Reconciliation
findings get a ``source``: ``ledger`` for the core's checks, ``<plugin id>.<check>`` for
the checks plugins contribute (``register_reconciliation_checks``).

The upgrade refuses to run while duplicates exist: they are money credited twice, which
an operator settles first (``lumiku credits reconcile`` lists them as
``duplicate_purchase``; ``lumiku credits adjust`` takes the extra credits back), and the
duplicate entry's reference is then renamed by hand.

Revision ID: 0005_purchase_once
Revises: 0004_job_items
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_purchase_once"
down_revision = "0004_job_items"
branch_labels = None
depends_on = None

_INDEX = "uq_credit_entries_purchase_reference"
_PURCHASE = sa.text("kind = 'purchase'")


def upgrade() -> None:
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT reference_type, reference_id, count(*) AS copies FROM credit_entries "
                "WHERE kind = 'purchase' AND reference_id IS NOT NULL "
                "GROUP BY reference_type, reference_id HAVING count(*) > 1"
            )
        )
        .all()
    )
    if duplicates:
        listed = ", ".join(f"{row[0]} {row[1]} ({row[2]} entries)" for row in duplicates[:10])
        raise RuntimeError(
            f"{len(duplicates)} payments are credited by more than one purchase entry: "
            f"{listed}. Settle them (lumiku credits reconcile / adjust) and give each extra "
            "entry a distinct reference_id before upgrading to 0005_purchase_once."
        )
    op.create_index(
        _INDEX,
        "credit_entries",
        ["reference_type", "reference_id"],
        unique=True,
        postgresql_where=_PURCHASE,
        sqlite_where=_PURCHASE,
    )
    with op.batch_alter_table("reconciliation_findings") as batch:
        batch.add_column(
            sa.Column("source", sa.String(100), nullable=False, server_default="ledger")
        )


def downgrade() -> None:
    with op.batch_alter_table("reconciliation_findings") as batch:
        batch.drop_column("source")
    op.drop_index(_INDEX, table_name="credit_entries")
