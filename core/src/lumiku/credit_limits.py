"""The limits of credit amounts, shared by the ledger and the settings that set prices.

A module of its own, importing nothing, so that ``lumiku.settings`` can check a price
against them without importing the ledger.
"""

from __future__ import annotations

MAX_AMOUNT = 10**9
"""Most credits one operation (a grant, spend, hold, purchase, adjustment) may move."""
BALANCE_CEILING = 10**12
"""Most credits an account may hold; a credit that would pass it is refused
(``BalanceCeiling``), and database CHECK constraints (migration ``0006_balance_ceiling``)
hold every balance, entry and hold within it. Far below BIGINT (2^63), so no sum of
balances or entries can overflow a column, and SQLite keeps every value an integer."""
