"""The balance and the history read from the event loop: the two reads every client polls.

``Ledger.balance`` and ``Ledger.history`` run in a worker thread through SQLAlchemy; these
give the same answers from the loop (``lumiku.db.loop_reads``): one statement each, no
thread hop, no transaction. Without a loop reader (in-memory SQLite) they call the
``Ledger`` in a worker thread.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool

from lumiku.db.loop_reads import LoopReader, Statement, as_utc
from lumiku.ledger.history import check_limit
from lumiku.ledger.records import Balance, HistoryPage
from lumiku.ledger.rows import entry_from
from lumiku.ledger.service import Ledger
from lumiku.ledger.tables import credit_entries
from lumiku.ledger.validation import check_label
from lumiku.pages import InvalidCursor, PageQuery, decode_cursor, newest_first, split_page

BALANCE = Statement("SELECT balance, held FROM credit_accounts WHERE user_id = :user_id")
_COLUMNS = [column.name for column in credit_entries.columns]
_ENTRIES = f"SELECT {', '.join(_COLUMNS)} FROM credit_entries WHERE user_id = :user_id"  # noqa: S608 - column names from the table
FIRST_PAGE = Statement(f"{_ENTRIES} ORDER BY id DESC LIMIT :rows")
NEXT_PAGE = Statement(f"{_ENTRIES} AND id < :after ORDER BY id DESC LIMIT :rows")
_ORDERING = newest_first(credit_entries.c.id)
_CREATED_AT = _COLUMNS.index("created_at")


class LedgerReads:
    """Read balances and histories from the event loop."""

    def __init__(self, ledger: Ledger, reader: LoopReader | None) -> None:
        """Read with ``reader``; without one (or one not ``available``), through ``ledger``."""
        self._ledger = ledger
        self._reader = reader if reader is not None and reader.available else None

    async def balance(self, user_id: str) -> Balance:
        """Return the user's balance, held and available credits (``Ledger.balance``)."""
        if self._reader is None:
            return await run_in_threadpool(self._ledger.balance, user_id)
        row = await self._reader.fetch_one(
            BALANCE, {"user_id": check_label("user_id", user_id, 36)}
        )
        return Balance(0, 0) if row is None else Balance(int(row[0]), int(row[1]))

    async def history(self, user_id: str, cursor: str | None, limit: int) -> HistoryPage:
        """Return a page of the user's entries, newest first (``Ledger.history``).

        Raises ``InvalidCursor`` (400) for a cursor no page of this list returned.
        """
        if self._reader is None:
            return await run_in_threadpool(self._ledger.history, user_id, cursor, limit)
        if cursor == "":
            raise InvalidCursor
        page = PageQuery(limit=check_limit(limit), cursor=cursor)
        params: dict[str, object] = {
            "user_id": check_label("user_id", user_id, 36),
            "rows": page.limit + 1,
        }
        statement = FIRST_PAGE
        if cursor is not None:
            params["after"] = decode_cursor(cursor, _ORDERING.columns)[0]
            statement = NEXT_PAGE
        rows = [
            {
                **dict(zip(_COLUMNS, row, strict=True)),
                "created_at": as_utc(row[_CREATED_AT]),
            }
            for row in await self._reader.fetch_all(statement, params)
        ]
        found = split_page(rows, page, _ORDERING)
        return HistoryPage(tuple(entry_from(row) for row in found.rows), found.next_cursor)
