"""Pages of one account's entries, and of the stored reconciliation findings, newest first
(``lumiku.pages``' cursor and contract).

Both are ordered by id, which grows with every insert, so a page boundary is stable while
new rows arrive: they only ever appear before the first page.
"""

from __future__ import annotations

import sqlalchemy as sa

from lumiku.ledger.errors import InvalidLedgerRequest
from lumiku.ledger.records import FindingPage, HistoryPage
from lumiku.ledger.rows import entry_from, finding_from
from lumiku.ledger.tables import credit_entries, reconciliation_findings
from lumiku.pages import MAX_LIMIT, InvalidCursor, PageQuery, fetch_page, newest_first

MAX_PAGE = MAX_LIMIT


def check_limit(limit: object) -> int:
    """Return ``limit`` if it is a page size from 1 to ``MAX_PAGE``, else raise."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidLedgerRequest("limit", f"limit must be a whole number from 1 to {MAX_PAGE}")
    return limit


def read_page(
    connection: sa.Connection, user_id: str, cursor: str | None, limit: int
) -> HistoryPage:
    """Return up to ``limit`` entries of ``user_id`` older than ``cursor``, newest first.

    Raise ``InvalidCursor`` (400) for a cursor that no page of this list returned.
    """
    if cursor == "":
        raise InvalidCursor
    page = fetch_page(
        connection,
        sa.select(credit_entries).where(credit_entries.c.user_id == user_id),
        PageQuery(limit=check_limit(limit), cursor=cursor),
        newest_first(credit_entries.c.id),
    )
    return HistoryPage(tuple(entry_from(row) for row in page.rows), page.next_cursor)


def read_findings(connection: sa.Connection, cursor: str | None, limit: int) -> FindingPage:
    """Return up to ``limit`` stored findings older than ``cursor``, newest first.

    Raise ``InvalidCursor`` (400) for a cursor that no page of this list returned.
    """
    if cursor == "":
        raise InvalidCursor
    page = fetch_page(
        connection,
        sa.select(reconciliation_findings),
        PageQuery(limit=check_limit(limit), cursor=cursor),
        newest_first(reconciliation_findings.c.id),
    )
    return FindingPage(tuple(finding_from(row) for row in page.rows), page.next_cursor)
