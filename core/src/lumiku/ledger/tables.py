"""The ledger's tables: accounts, append-only entries, holds, and reconciliation findings.

Migrations ``0002_ledger``, ``0005_purchase_once`` and ``0006_balance_ceiling`` create
them; these ``Table`` objects describe the same schema for queries (a test compares the
two). Credits are whole numbers in ``BIGINT`` columns, held within ``BALANCE_CEILING`` by
CHECK constraints (``ceiling``).
"""

from __future__ import annotations

import sqlalchemy as sa

from lumiku.credit_limits import BALANCE_CEILING
from lumiku.db.metadata import metadata
from lumiku.db.types import UTCDateTime

# BIGINT keys on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is the auto-numbered rowid.
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

ENTRY_KINDS = ("welcome", "purchase", "grant", "spend", "capture", "refund", "adjustment")
HOLD_STATUSES = ("held", "captured", "released", "expired")
PURCHASE_REFERENCE_INDEX = "uq_credit_entries_purchase_reference"
LEDGER_SOURCE = "ledger"
"""The ``source`` of the findings of the ledger's own checks."""


ACCOUNT_CEILING = f"balance <= {BALANCE_CEILING}"
ENTRY_CEILING = (
    f"amount BETWEEN -{BALANCE_CEILING} AND {BALANCE_CEILING} "
    f"AND balance_after BETWEEN 0 AND {BALANCE_CEILING}"
)
HOLD_CEILING = f"amount <= {BALANCE_CEILING}"
"""The SQL of the ``ceiling`` CHECK constraints (migration ``0006_balance_ceiling``)."""


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


credit_accounts = sa.Table(
    "credit_accounts",
    metadata,
    sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("held", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("held >= 0 AND balance >= held", name="funds"),
    sa.CheckConstraint(ACCOUNT_CEILING, name="ceiling"),
)

credit_entries = sa.Table(
    "credit_entries",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("credit_accounts.user_id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("balance_after", sa.BigInteger, nullable=False),
    sa.Column("reference_type", sa.String(64), nullable=True),
    sa.Column("reference_id", sa.String(255), nullable=True),
    sa.Column("plugin", sa.String(64), nullable=True),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint(_one_of("kind", ENTRY_KINDS), name="kind"),
    sa.CheckConstraint("amount <> 0", name="amount"),
    sa.CheckConstraint(ENTRY_CEILING, name="ceiling"),
    # History pages walk one user's entries newest first; a B-tree scans either way.
    sa.Index("ix_credit_entries_user_history", "user_id", "id"),
    # One purchase entry per payment: a second one is refused by the database (0005).
    sa.Index(
        PURCHASE_REFERENCE_INDEX,
        "reference_type",
        "reference_id",
        unique=True,
        postgresql_where=sa.text("kind = 'purchase'"),
        sqlite_where=sa.text("kind = 'purchase'"),
    ),
)

credit_holds = sa.Table(
    "credit_holds",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), sa.ForeignKey("credit_accounts.user_id"), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("captured", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
    sa.Column("reference_type", sa.String(64), nullable=False),
    sa.Column("reference_id", sa.String(255), nullable=False),
    sa.Column("plugin", sa.String(64), nullable=True),
    sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    sa.Column("resolved_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint(_one_of("status", HOLD_STATUSES), name="status"),
    sa.CheckConstraint("amount > 0 AND captured >= 0 AND captured <= amount", name="amounts"),
    sa.CheckConstraint(HOLD_CEILING, name="ceiling"),
    sa.Index("ix_credit_holds_user_status", "user_id", "status"),
    # The sweeper looks for open holds past their expiry.
    sa.Index("ix_credit_holds_status_expires_at", "status", "expires_at"),
)

reconciliation_findings = sa.Table(
    "reconciliation_findings",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(36), nullable=False, index=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("expected", sa.BigInteger, nullable=False),
    sa.Column("actual", sa.BigInteger, nullable=False),
    sa.Column("difference", sa.BigInteger, nullable=False),
    sa.Column("detail", sa.String(1000), nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
    # ``ledger``, or ``<plugin id>.<check name>`` for a plugin's check (0005).
    sa.Column("source", sa.String(100), nullable=False, server_default=LEDGER_SOURCE),
)
