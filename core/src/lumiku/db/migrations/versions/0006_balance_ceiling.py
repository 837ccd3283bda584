"""Core: balances, entries and holds stay within the balance ceiling (10^12 credits).

Many maximum grants once pushed a balance past 2^63: SQLite stored it as a float (credits
lost) and PostgreSQL refused the write with a 500. The ledger now refuses a credit that
would pass the ceiling (``BalanceCeiling``, 409 ``BALANCE_CEILING``), and these CHECK
constraints (``ceiling``) make the database refuse it too:

- ``credit_accounts``: ``balance <= 10^12`` (``held <= balance`` was already checked);
- ``credit_entries``: ``amount`` within +-10^12, ``balance_after`` within 0..10^12;
- ``credit_holds``: ``amount <= 10^12`` (``captured <= amount`` was already checked).

SQLite gets them through batch mode: the table is copied with its constraints and indexes
(foreign keys are off while migrations run on SQLite, see ``env.py``).

The upgrade refuses to run while a row breaks them (a balance over the ceiling, or a value
that is not a whole number, which SQLite can hold): ``lumiku credits reconcile`` lists
them (``invalid_value`` findings); an operator brings each under the ceiling by hand, then
upgrades.

Revision ID: 0006_balance_ceiling
Revises: 0005_purchase_once
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_balance_ceiling"
down_revision = "0005_purchase_once"
branch_labels = None
depends_on = None

CEILING = 10**12  # lumiku.ledger.validation.BALANCE_CEILING, as of this revision
_CHECKS = {
    "credit_accounts": f"balance <= {CEILING}",
    "credit_entries": (
        f"amount BETWEEN -{CEILING} AND {CEILING} AND balance_after BETWEEN 0 AND {CEILING}"
    ),
    "credit_holds": f"amount <= {CEILING}",
}
_KEYS = {"credit_accounts": "user_id", "credit_entries": "id", "credit_holds": "id"}


def _offending(table: str) -> list[str]:
    # NOT (check) is true for a number over the ceiling and, on SQLite, for text too (text
    # sorts after every number); a NULL cannot be stored (NOT NULL columns).
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT {_KEYS[table]} FROM {table} WHERE NOT ({_CHECKS[table]}) "  # noqa: S608 - constants only
                f"ORDER BY {_KEYS[table]} LIMIT 11"
            )
        )
        .scalars()
        .all()
    )
    return [str(row) for row in rows]


def upgrade() -> None:
    problems = []
    for table in _CHECKS:
        offending = _offending(table)
        if offending:
            listed = ", ".join(offending[:10]) + (" and more" if len(offending) > 10 else "")
            problems.append(f"{table} ({_KEYS[table]}: {listed})")
    if problems:
        raise RuntimeError(
            f"Rows hold credits over the {CEILING} credit ceiling, or values that are not "
            f"whole numbers: {'; '.join(problems)}. `lumiku credits reconcile` lists them; "
            "bring each under the ceiling by hand, then upgrade to 0006_balance_ceiling again."
        )
    for table, check in _CHECKS.items():
        with op.batch_alter_table(table) as batch:
            batch.create_check_constraint(f"ck_{table}_ceiling", sa.text(check))


def downgrade() -> None:
    for table in _CHECKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"ck_{table}_ceiling", type_="check")
