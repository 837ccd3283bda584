"""Keyset pagination: ``?limit=&cursor=`` on every list, ``nextCursor`` in every page.

A cursor is opaque to clients: the sort key and id of the last item of a page, encoded.
Keyset paging stays correct while rows are added or removed between requests, and costs
the same for the last page as for the first.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku import ValidationFailed, field

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_KEY = 2**63 - 1
"""Integer sort keys fit a signed 64-bit column; a cursor beyond that was forged."""


@attrs.frozen
class PageQuery:
    """Paging: up to ``limit`` items after ``cursor`` (the ``nextCursor`` of the page before)."""

    limit: int = field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = field(default=None, max_length=300)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def encode_cursor(sort_key: datetime | int, item_id: str) -> str:
    """Return the cursor that continues after the item with ``sort_key`` and ``item_id``."""
    key: Any = as_utc(sort_key).isoformat() if isinstance(sort_key, datetime) else sort_key
    raw = json.dumps([key, item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed(
        "The cursor is not one this API returned; pass nextCursor from the previous page "
        "unchanged, or leave it out for the first page.",
        details={"fields": {"cursor": "invalid"}},
    )


def decode_cursor(cursor: str, *, timestamp: bool) -> tuple[Any, str]:
    """Return ``(sort_key, id)`` from a cursor; the key is a datetime when ``timestamp``.

    Anything this API did not hand out is a 422: malformed, a timestamp that cannot be
    moved to UTC (year 1 or 9999 with an offset), an integer outside 64 bits, an id with
    a NUL character (PostgreSQL refuses those in text).
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key, item_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(item_id, str) or "\x00" in item_id:
            raise TypeError("id")
        if timestamp:
            if not isinstance(key, str):
                raise TypeError("key")
            return as_utc(datetime.fromisoformat(key)), item_id
        if isinstance(key, bool) or not isinstance(key, int):
            raise TypeError("key")
        if not -MAX_CURSOR_KEY <= key <= MAX_CURSOR_KEY:
            raise ValueError("key")
        return key, item_id
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
        raise _bad_cursor() from None


def newest_first(
    query: sa.Select[Any],
    created: sa.ColumnElement[Any],
    ident: sa.ColumnElement[Any],
    page: PageQuery,
) -> sa.Select[Any]:
    """Order ``query`` newest first and start after ``page.cursor``; fetch one extra row."""
    if page.cursor:
        at, last_id = decode_cursor(page.cursor, timestamp=True)
        query = query.where(sa.or_(created < at, sa.and_(created == at, ident < last_id)))
    return query.order_by(created.desc(), ident.desc()).limit(page.limit + 1)


def in_order(
    query: sa.Select[Any],
    order: sa.ColumnElement[Any],
    ident: sa.ColumnElement[Any],
    page: PageQuery,
) -> sa.Select[Any]:
    """Order ``query`` by an integer ``order`` ascending and start after ``page.cursor``."""
    if page.cursor:
        at, last_id = decode_cursor(page.cursor, timestamp=False)
        query = query.where(sa.or_(order > at, sa.and_(order == at, ident > last_id)))
    return query.order_by(order.asc(), ident.asc()).limit(page.limit + 1)


def split_page(rows: Sequence[Any], page: PageQuery, key: str) -> tuple[list[Any], str | None]:
    """Return the rows of the page and the cursor of the next one (``None`` on the last)."""
    items = list(rows[: page.limit])
    if len(rows) <= page.limit or not items:
        return items, None
    last = items[-1]
    return items, encode_cursor(last[key], last["id"])
