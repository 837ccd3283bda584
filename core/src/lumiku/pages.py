"""Pages of a list: ``?limit=&cursor=`` in, ``{<items>, nextCursor}`` out, for every list.

Keyset paging: a page continues after the sort key of the last row of the page before,
so it stays right while rows are added or removed between requests and costs the same for
the last page as for the first. Order by columns whose last one is unique (the id)::

    page = fetch_page(connection, sa.select(projects).where(projects.c.user_id == user),
                      call.query, newest_first(projects.c.created_at, projects.c.id))
    return ProjectPage([view(row) for row in page.rows], page.next_cursor)

The cursor is opaque to clients: a versioned, base64url-encoded list of the last row's sort
values. It is validated, not signed: every value must have the type of its column and fit
its range (a 32-bit integer column takes no 2^31, a ``String(36)`` no 37 characters, a
timestamp must carry its zone), so whatever a client sends is either a position in its own
list or a 400 ``INVALID_CURSOR`` on PostgreSQL and SQLite alike, never a 500. A forged
cursor can do no more than a valid one: the query still filters the caller's rows.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import attrs
import sqlalchemy as sa

from lumiku.errors import BadRequest
from lumiku.http.fields import field
from lumiku.http.json_keys import loads_unique
from lumiku.integers import check_whole, column_range

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 1024
_VERSION = 1


@attrs.frozen
class PageQuery:
    """Paging: up to ``limit`` items after ``cursor`` (the ``nextCursor`` of the page before)."""

    limit: int = field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    cursor: str | None = field(default=None, min_length=1, max_length=MAX_CURSOR_LENGTH)


@attrs.frozen
class Ordering:
    """Sort columns, the last one unique; all ascending or all descending."""

    columns: tuple[sa.Column[Any], ...]
    descending: bool

    def __attrs_post_init__(self) -> None:
        if not self.columns:
            raise ValueError("an ordering needs at least one column (the last one unique)")


def newest_first(*columns: sa.Column[Any]) -> Ordering:
    """Order by ``columns`` descending (e.g. ``created_at, id``)."""
    return Ordering(tuple(columns), descending=True)


def in_order(*columns: sa.Column[Any]) -> Ordering:
    """Order by ``columns`` ascending (e.g. ``sort_order, id``)."""
    return Ordering(tuple(columns), descending=False)


@attrs.frozen
class Page(Generic[T]):
    """The rows of one page and the cursor of the next (``None`` on the last page)."""

    rows: list[T]
    next_cursor: str | None

    def map(self, convert: Callable[[T], U]) -> Page[U]:
        """Return the page with every row converted."""
        return Page([convert(row) for row in self.rows], self.next_cursor)


class InvalidCursor(BadRequest):
    """A cursor this API did not hand out (malformed, or a value its column cannot hold)."""

    def __init__(self) -> None:
        super().__init__(
            "The cursor is not one this API returned; pass nextCursor from the previous page "
            "unchanged, or leave cursor out for the first page.",
            code="INVALID_CURSOR",
            details={"fields": {"cursor": "is not a nextCursor value of this list"}},
        )


def fetch_page(
    connection: sa.Connection, query: sa.Select[Any], page: PageQuery, ordering: Ordering
) -> Page[Any]:
    """Run ``query`` for one page in ``ordering``; rows are result mappings.

    Raise ``InvalidCursor`` (400) for a cursor that is not one of this list's.
    """
    rows = connection.execute(page_query(query, page, ordering)).mappings().all()
    return split_page(rows, page, ordering)


def page_query(query: sa.Select[Any], page: PageQuery, ordering: Ordering) -> sa.Select[Any]:
    """Return ``query`` ordered, started after ``page.cursor`` and limited to one extra row."""
    columns = ordering.columns
    if page.cursor:
        values = decode_cursor(page.cursor, columns)
        query = query.where(_after(columns, values, ordering.descending))
    order = [column.desc() if ordering.descending else column.asc() for column in columns]
    return query.order_by(*order).limit(page.limit + 1)


def split_page(rows: Sequence[Any], page: PageQuery, ordering: Ordering) -> Page[Any]:
    """Return the rows of the page (fetched with one extra) and the next page's cursor."""
    items = list(rows[: page.limit])
    if len(rows) <= page.limit or not items:
        return Page(items, None)
    last = items[-1]
    return Page(items, encode_cursor([last[column.name] for column in ordering.columns]))


def _after(
    columns: Sequence[sa.Column[Any]], values: Sequence[Any], descending: bool
) -> sa.ColumnElement[bool]:
    clauses = []
    for index, column in enumerate(columns):
        equal = [columns[i] == values[i] for i in range(index)]
        beyond = column < values[index] if descending else column > values[index]
        clauses.append(sa.and_(*equal, beyond))
    return sa.or_(*clauses)


def encode_cursor(values: Sequence[Any]) -> str:
    """Return the cursor that continues after a row with these sort values."""
    wire = [
        value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
        for value in values
    ]
    raw = json.dumps({"v": _VERSION, "k": wire}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, columns: Sequence[sa.Column[Any]]) -> list[Any]:
    """Return the sort values of a cursor, each checked against its column."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = loads_unique(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(data, dict) or data.get("v") != _VERSION:
            raise ValueError("version")
        values = data.get("k")
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("shape")
        return [_value(column, value) for column, value in zip(columns, values, strict=True)]
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error, UnicodeError):
        raise InvalidCursor from None


def _value(column: sa.Column[Any], value: Any) -> Any:
    """Return ``value`` if ``column`` can hold it, else raise ``ValueError``."""
    kind = column.type
    if isinstance(kind, sa.DateTime) or isinstance(getattr(kind, "impl", None), sa.DateTime):
        if not isinstance(value, str):
            raise ValueError("timestamp")
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("timestamp without zone")
        return moment.astimezone(UTC)
    if isinstance(kind, sa.Boolean):
        if not isinstance(value, bool):
            raise ValueError("boolean")
        return value
    if isinstance(kind, sa.Integer):
        return check_whole(value, *column_range(kind))
    if isinstance(kind, sa.String):
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError("text")
        if kind.length is not None and len(value) > kind.length:
            raise ValueError("text too long")
        value.encode("utf-8")  # a lone surrogate cannot reach the database
        return value
    raise ValueError(f"no cursor values for {type(kind).__name__} columns")
