"""Duitku payments: payments and the raw events received about them.

Revision ID: pd0001_tables
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from lumiku import plural

revision = "pd0001_tables"
down_revision = None
branch_labels = ("payments_duitku",)
depends_on = "0001_users"  # its payments belong to users

_STATUSES = "status IN ('created', 'pending', 'unknown', 'paid', 'failed', 'expired', 'review')"


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "duitku_payments",
        sa.Column("merchant_order_id", sa.String(50), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("package_id", sa.String(64), nullable=False),
        sa.Column("package_name", sa.String(100), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("credits", sa.BigInteger, nullable=False),
        sa.Column("payment_method", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(255), nullable=True, unique=True),
        sa.Column("payment_url", sa.String(2000), nullable=True),
        sa.Column("va_number", sa.String(64), nullable=True),
        sa.Column("qr_string", sa.Text, nullable=True),
        sa.Column("result_code", sa.String(8), nullable=True),
        sa.Column("checks", sa.Integer, nullable=False, server_default="0"),
        _when("next_check_at", nullable=True),
        _when("expires_at"),
        _when("paid_at", nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.CheckConstraint(_STATUSES, name="ck_duitku_payments_status"),
        sa.CheckConstraint("amount > 0 AND credits > 0", name="ck_duitku_payments_amounts"),
        sa.CheckConstraint(
            "reference IS NULL OR reference <> ''", name="ck_duitku_payments_reference"
        ),
    )
    op.create_index(
        "ix_duitku_payments_user_created",
        "duitku_payments",
        ["user_id", "created_at", "merchant_order_id"],
    )
    op.create_index(
        "ix_duitku_payments_status_next_check", "duitku_payments", ["status", "next_check_at"]
    )
    op.create_table(
        "duitku_payment_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("merchant_order_id", sa.String(50), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("result_code", sa.String(8), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("fields", sa.Text, nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=True),
        _when("created_at"),
    )
    op.create_index(
        "ix_duitku_payment_events_order", "duitku_payment_events", ["merchant_order_id", "id"]
    )


def downgrade() -> None:
    paid = (
        op.get_bind()
        .execute(sa.text("SELECT count(*) FROM duitku_payments WHERE status = 'paid'"))
        .scalar_one()
    )
    if paid:
        # The payments explain purchase entries of the ledger: dropping them loses that.
        exist, them = ("exists", "it") if paid == 1 else ("exist", "them")
        raise RuntimeError(
            f"{plural(paid, 'paid Duitku payment')} {exist}; export {them} before taking the "
            "payments_duitku branch down (the purchase entries stay in the ledger)"
        )
    op.drop_index("ix_duitku_payment_events_order", table_name="duitku_payment_events")
    op.drop_table("duitku_payment_events")
    op.drop_index("ix_duitku_payments_status_next_check", table_name="duitku_payments")
    op.drop_index("ix_duitku_payments_user_created", table_name="duitku_payments")
    op.drop_table("duitku_payments")
