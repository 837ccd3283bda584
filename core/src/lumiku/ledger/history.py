"""Pages of one account's entries, newest first, by an opaque cursor.

Entries are ordered by id, which grows with every insert, so a page boundary is stable
while new entries arrive: they only ever appear before the first page.
"""

from __future__ import annotations

import sqlalchemy as sa

from lumiku.ledger.errors import InvalidLedgerRequest
from lumiku.ledger.records import HistoryPage
from lumiku.ledger.rows import entry_from
from lumiku.ledger.tables import credit_entries

MAX_PAGE = 100


def parse_cursor(cursor: str | None) -> int | None:
    """Return the entry id a cursor points below, or ``None`` for the first page."""
    if cursor is None:
        return None
    if (
        not isinstance(cursor, str)
        or not cursor.isascii()
        or not cursor.isdigit()
        or len(cursor) > 18  # beyond a BIGINT: forged, never issued
    ):
        raise InvalidLedgerRequest(
            "cursor", "cursor must be a next_cursor value returned by an earlier page"
        )
    return int(cursor)


def check_limit(limit: object) -> int:
    """Return ``limit`` if it is a page size from 1 to ``MAX_PAGE``, else raise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidLedgerRequest("limit", f"limit must be a whole number from 1 to {MAX_PAGE}")
    return limit


def read_page(
    connection: sa.Connection, user_id: str, cursor: str | None, limit: int
) -> HistoryPage:
    """Return up to ``limit`` entries of ``user_id`` older than ``cursor``, newest first."""
    before = parse_cursor(cursor)
    entries = credit_entries.c
    query = (
        sa.select(credit_entries)
        .where(entries.user_id == user_id)
        .order_by(entries.id.desc())
        .limit(check_limit(limit) + 1)
    )
    if before is not None:
        query = query.where(entries.id < before)
    rows = connection.execute(query).mappings().all()
    page = tuple(entry_from(row) for row in rows[:limit])
    next_cursor = str(page[-1].id) if len(rows) > limit else None
    return HistoryPage(page, next_cursor)
