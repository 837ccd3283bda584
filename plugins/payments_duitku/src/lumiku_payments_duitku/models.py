"""The plugin's tables: payments and the raw events received about them.

Migration ``pd0001_tables`` creates them (a test compares the two). Money is whole rupiah in
``BIGINT`` columns, credits whole credits. ``reference`` (Duitku's id of the payment) is
unique and NULL until Duitku gives one: never an empty string, so a payment whose inquiry
went unanswered can never collide with another.
"""

from __future__ import annotations

import sqlalchemy as sa

from lumiku import UTCDateTime

metadata = sa.MetaData()

STATUSES = ("created", "pending", "unknown", "paid", "failed", "expired", "review")
"""``created``: stored, inquiry not answered yet. ``pending``: Duitku has it, unpaid.
``unknown``: the inquiry timed out or failed on Duitku's side; the poller finds out.
``paid``: credited (its purchase entry exists). ``failed``: refused, or Duitku said failed.
``expired``: not paid in time. ``review``: Duitku reported it paid with another amount, or
its credits would pass the account's balance ceiling; nothing credited, an operator decides."""
OPEN_STATUSES = ("created", "pending", "unknown")
"""Statuses the poller resolves."""
CREDITABLE_STATUSES = ("created", "pending", "unknown", "failed", "expired")
"""Statuses a confirmed payment turns into ``paid`` from: a late payment still credits."""

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


payments = sa.Table(
    "duitku_payments",
    metadata,
    sa.Column("merchant_order_id", sa.String(50), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
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
    sa.Column("next_check_at", UTCDateTime(), nullable=True),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("paid_at", UTCDateTime(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(_one_of("status", STATUSES), name="ck_duitku_payments_status"),
    sa.CheckConstraint("amount > 0 AND credits > 0", name="ck_duitku_payments_amounts"),
    sa.CheckConstraint("reference IS NULL OR reference <> ''", name="ck_duitku_payments_reference"),
    sa.Index("ix_duitku_payments_user_created", "user_id", "created_at", "merchant_order_id"),
    # The poller looks for open payments whose next check is due.
    sa.Index("ix_duitku_payments_status_next_check", "status", "next_check_at"),
)

payment_events = sa.Table(
    "duitku_payment_events",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("merchant_order_id", sa.String(50), nullable=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("result_code", sa.String(8), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("fields", sa.Text, nullable=False),
    sa.Column("client_ip", sa.String(64), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Index("ix_duitku_payment_events_order", "merchant_order_id", "id"),
)
"""Every callback that passed the signature and merchant checks, as received (``fields``
is the JSON of the form), and every answer of transactionStatus the poller applied."""
