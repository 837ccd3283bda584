"""Core: the credit ledger (accounts, entries, holds, reconciliation findings).

Revision ID: 0002_ledger
Revises: 0001_users
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_ledger"
down_revision = "0001_users"
branch_labels = None
depends_on = None

# BIGINT keys on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-numbered rowid.
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "credit_accounts",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("held", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_credit_accounts_user_id_users"),
        sa.CheckConstraint("held >= 0 AND balance >= held", name="ck_credit_accounts_funds"),
        sa.PrimaryKeyConstraint("user_id", name="pk_credit_accounts"),
    )
    op.create_table(
        "credit_entries",
        sa.Column("id", _SERIAL, nullable=False, autoincrement=True),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("balance_after", sa.BigInteger, nullable=False),
        sa.Column("reference_type", sa.String(64), nullable=True),
        sa.Column("reference_id", sa.String(255), nullable=True),
        sa.Column("plugin", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["credit_accounts.user_id"],
            name="fk_credit_entries_user_id_credit_accounts",
        ),
        sa.CheckConstraint(
            "kind IN ('welcome', 'purchase', 'grant', 'spend', 'capture', 'adjustment')",
            name="ck_credit_entries_kind",
        ),
        sa.CheckConstraint("amount <> 0", name="ck_credit_entries_amount"),
        sa.UniqueConstraint("idempotency_key", name="uq_credit_entries_idempotency_key"),
        sa.PrimaryKeyConstraint("id", name="pk_credit_entries"),
    )
    op.create_index("ix_credit_entries_user_history", "credit_entries", ["user_id", "id"])
    op.create_table(
        "credit_holds",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("captured", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_type", sa.String(64), nullable=False),
        sa.Column("reference_id", sa.String(255), nullable=False),
        sa.Column("plugin", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["credit_accounts.user_id"],
            name="fk_credit_holds_user_id_credit_accounts",
        ),
        sa.CheckConstraint(
            "status IN ('held', 'captured', 'released', 'expired')",
            name="ck_credit_holds_status",
        ),
        sa.CheckConstraint(
            "amount > 0 AND captured >= 0 AND captured <= amount", name="ck_credit_holds_amounts"
        ),
        sa.UniqueConstraint("idempotency_key", name="uq_credit_holds_idempotency_key"),
        sa.PrimaryKeyConstraint("id", name="pk_credit_holds"),
    )
    op.create_index("ix_credit_holds_user_status", "credit_holds", ["user_id", "status"])
    op.create_index("ix_credit_holds_status_expires_at", "credit_holds", ["status", "expires_at"])
    op.create_table(
        "reconciliation_findings",
        sa.Column("id", _SERIAL, nullable=False, autoincrement=True),
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("expected", sa.BigInteger, nullable=False),
        sa.Column("actual", sa.BigInteger, nullable=False),
        sa.Column("difference", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reconciliation_findings"),
    )
    op.create_index("ix_reconciliation_findings_run_id", "reconciliation_findings", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_reconciliation_findings_run_id", table_name="reconciliation_findings")
    op.drop_table("reconciliation_findings")
    op.drop_index("ix_credit_holds_status_expires_at", table_name="credit_holds")
    op.drop_index("ix_credit_holds_user_status", table_name="credit_holds")
    op.drop_table("credit_holds")
    op.drop_index("ix_credit_entries_user_history", table_name="credit_entries")
    op.drop_table("credit_entries")
    op.drop_table("credit_accounts")
