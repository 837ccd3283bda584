"""Find stored credit values that are not whole numbers within the ceiling.

The ledger never writes one, and the ``ceiling`` CHECK constraints (migration
``0006_balance_ceiling``) refuse them; a database from before that migration, or one edited
by hand, may still hold them: a balance past 2^63 that SQLite stored as a float, text in a
SQLite integer column, a number past the ceiling. Reconciliation reports each as an
``invalid_value`` finding and leaves the accounts holding one out of its sums, which such a
value would make fail (SQLite's ``sum()`` raises on an integer overflow) or mislead.
"""

from __future__ import annotations

from typing import Any

import attrs
import sqlalchemy as sa

from lumiku.credit_limits import BALANCE_CEILING
from lumiku.ledger.tables import credit_accounts, credit_entries, credit_holds

INVALID_VALUE = "invalid_value"
"""The kind of the finding that stands for a stored value that is not valid credits."""


@attrs.frozen
class InvalidValue:
    """One stored value that is not a whole number of credits within its bounds."""

    user_id: str
    table: str
    row: str
    column: str
    stored: str
    stored_type: str
    low: int
    high: int

    def detail(self) -> str:
        """Return the finding's text: where, what is stored, what is allowed, what to do."""
        return (
            f"{self.table}.{self.column} of {self.row} holds {self.stored[:60]} "
            f"({self.stored_type}), not a whole number of credits within {self.low}.."
            f"{self.high}; the ledger never writes one: fix the row by hand"
        )


# (table, its key column, credit column, lowest, highest)
_COLUMNS: tuple[tuple[sa.Table, str, str, int, int], ...] = (
    (credit_accounts, "user_id", "balance", 0, BALANCE_CEILING),
    (credit_accounts, "user_id", "held", 0, BALANCE_CEILING),
    (credit_entries, "id", "amount", -BALANCE_CEILING, BALANCE_CEILING),
    (credit_entries, "id", "balance_after", 0, BALANCE_CEILING),
    (credit_holds, "id", "amount", 0, BALANCE_CEILING),
    (credit_holds, "id", "captured", 0, BALANCE_CEILING),
)


def _invalid(column: sa.ColumnElement[Any], low: int, high: int, sqlite: bool) -> Any:
    out_of_range = sa.or_(column < low, column > high)
    if not sqlite:
        return out_of_range  # a BIGINT holds whole numbers only
    # SQLite keeps whatever it was given: a REAL past 2^63, TEXT (which sorts after numbers)
    return sa.or_(sa.func.typeof(column) != "integer", out_of_range)


def find_invalid_values(connection: sa.Connection) -> list[InvalidValue]:
    """Return every stored credit value that is not a whole number within its bounds."""
    sqlite = connection.dialect.name == "sqlite"
    found: list[InvalidValue] = []
    for table, key, name, low, high in _COLUMNS:
        column = table.c[name]
        kind = sa.func.typeof(column) if sqlite else sa.literal("bigint")
        query = (
            sa.select(
                table.c.user_id,
                sa.cast(table.c[key], sa.Text).label("row"),
                sa.cast(column, sa.Text).label("stored"),
                kind.label("stored_type"),
            )
            .where(_invalid(column, low, high, sqlite))
            .order_by(table.c[key])
        )
        for row in connection.execute(query):
            found.append(
                InvalidValue(
                    user_id=str(row.user_id),
                    table=table.name,
                    row=f"{key} {row.row}",
                    column=name,
                    stored=str(row.stored),
                    stored_type=str(row.stored_type),
                    low=low,
                    high=high,
                )
            )
    return found
