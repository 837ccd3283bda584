"""Core: attempts of Idempotency-Keys, refund entries.

``idempotent_requests`` gains the attempt that runs under a key, the lease of the
request holding it (NULL: free) and the headers a replay repeats (``Location``).
``credit_entries`` accepts the kind ``refund`` (the reversal of a spend whose work failed).

Revision ID: 0003_attempts_refunds
Revises: 0002_ledger
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_attempts_refunds"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None

_KINDS_BEFORE = ("welcome", "purchase", "grant", "spend", "capture", "adjustment")
_KINDS_AFTER = ("welcome", "purchase", "grant", "spend", "capture", "refund", "adjustment")


def _kinds(values: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    with op.batch_alter_table("idempotent_requests") as batch:
        batch.add_column(sa.Column("attempt", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("response_headers", sa.Text, nullable=True))
    with op.batch_alter_table("credit_entries") as batch:
        batch.drop_constraint("ck_credit_entries_kind", type_="check")
        batch.create_check_constraint("ck_credit_entries_kind", _kinds(_KINDS_AFTER))


def downgrade() -> None:
    refunds = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM credit_entries WHERE kind = 'refund'"))
        .scalar_one()
    )
    if refunds:
        # Entries are the money's history: dropping them would unbalance every account.
        raise RuntimeError(
            f"{refunds} refund entries exist; the ledger cannot go below 0003_attempts_refunds"
        )
    with op.batch_alter_table("credit_entries") as batch:
        batch.drop_constraint("ck_credit_entries_kind", type_="check")
        batch.create_check_constraint("ck_credit_entries_kind", _kinds(_KINDS_BEFORE))
    with op.batch_alter_table("idempotent_requests") as batch:
        batch.drop_column("response_headers")
        batch.drop_column("lease_expires_at")
        batch.drop_column("attempt")
