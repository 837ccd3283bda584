"""One cursor format for every list: pages join up, forged cursors are 400 on both databases."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.db import create_engine
from lumiku.db.types import UTCDateTime
from lumiku.pages import (
    InvalidCursor,
    PageQuery,
    encode_cursor,
    fetch_page,
    in_order,
    newest_first,
)

metadata = sa.MetaData()
things = sa.Table(
    "lkt_things",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("owner", sa.String(8), nullable=False),
    sa.Column("rank", sa.Integer, nullable=False),
    sa.Column("serial", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    """Return a database with 25 things of owner ``a`` (created in pairs: ties) and 3 of ``b``."""
    engine = create_engine(database_url)
    metadata.create_all(engine)
    rows = [
        {
            "id": f"a-{index:02d}",
            "owner": "a",
            "rank": index % 7,
            "serial": index,
            "created_at": T0 + timedelta(minutes=index // 2),
        }
        for index in range(25)
    ]
    rows += [
        {"id": f"b-{i}", "owner": "b", "rank": 0, "serial": 100 + i, "created_at": T0}
        for i in range(3)
    ]
    with engine.begin() as connection:
        connection.execute(sa.insert(things), rows)
    yield engine
    engine.dispose()


def _walk(engine: sa.Engine, ordering: Any, limit: int) -> list[str]:
    seen: list[str] = []
    cursor = None
    with engine.connect() as connection:
        while True:
            page = fetch_page(
                connection,
                sa.select(things).where(things.c.owner == "a"),
                PageQuery(limit=limit, cursor=cursor),
                ordering,
            )
            seen += [row["id"] for row in page.rows]
            assert len(page.rows) <= limit
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor


@pytest.mark.parametrize("limit", [1, 4, 25, 100])
def test_pages_newest_first_join_up_across_ties(engine: sa.Engine, limit: int) -> None:
    seen = _walk(engine, newest_first(things.c.created_at, things.c.id), limit)
    expected = sorted(
        (f"a-{i:02d}" for i in range(25)),
        key=lambda ident: (int(ident[2:]) // 2, ident),
        reverse=True,
    )
    assert seen == expected


def test_pages_in_order_join_up(engine: sa.Engine) -> None:
    seen = _walk(engine, in_order(things.c.rank, things.c.id), 3)
    assert seen == sorted((f"a-{i:02d}" for i in range(25)), key=lambda i: (int(i[2:]) % 7, i))


def test_an_exact_last_page_has_no_next_cursor(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        page = fetch_page(
            connection,
            sa.select(things).where(things.c.owner == "b"),
            PageQuery(limit=3),
            newest_first(things.c.id),
        )
    assert (len(page.rows), page.next_cursor) == (3, None)
    assert page.map(lambda row: row["id"]).rows == ["b-2", "b-1", "b-0"]


def _raw(values: Any, version: Any = 1) -> str:
    text = json.dumps({"v": version, "k": values}).encode()
    return base64.urlsafe_b64encode(text).decode().rstrip("=")


FORGED = {
    "not base64": "***",
    "not json": base64.urlsafe_b64encode(b"{nope").decode(),
    "a bare number": base64.urlsafe_b64encode(b"42").decode(),
    "no version": base64.urlsafe_b64encode(b'{"k": [1, "a"]}').decode(),
    "another version": _raw([1, "a"], version=2),
    "too few values": _raw([1]),
    "too many values": _raw([1, "a", "b"]),
    "a string for an integer": _raw(["1", "a"]),
    "a boolean for an integer": _raw([True, "a"]),
    "a float for an integer": _raw([1.5, "a"]),
    "2^31 in a 32-bit column": _raw([2**31, "a"]),
    "-2^31 - 1 in a 32-bit column": _raw([-(2**31) - 1, "a"]),
    "an id longer than its column": _raw([1, "x" * 37]),
    "a NUL in an id": _raw([1, "a\x00b"]),
    "a lone surrogate": _raw([1, "\ud800"]),
    "non-ascii text": "é" * 10,
    "deep nesting": _raw([[[[[[1]]]]], "a"]),
}


@pytest.mark.parametrize("cursor", FORGED.values(), ids=FORGED.keys())
def test_a_forged_cursor_is_a_400_naming_the_cursor(engine: sa.Engine, cursor: str) -> None:
    with engine.connect() as connection, pytest.raises(InvalidCursor) as raised:
        fetch_page(
            connection,
            sa.select(things),
            PageQuery(cursor=cursor),
            in_order(things.c.rank, things.c.id),
        )
    assert raised.value.code == "INVALID_CURSOR"
    assert list(raised.value.details["fields"]) == ["cursor"]


@pytest.mark.parametrize(
    "values",
    [["2026-01-01T00:00:00", "a"], [17, "a"], ["not a time", "a"], ["2026-13-01T00:00:00Z", "a"]],
)
def test_timestamps_in_cursors_must_be_real_and_carry_their_zone(
    engine: sa.Engine, values: list[Any]
) -> None:
    with engine.connect() as connection, pytest.raises(InvalidCursor):
        fetch_page(
            connection,
            sa.select(things),
            PageQuery(cursor=_raw(values)),
            newest_first(things.c.created_at, things.c.id),
        )


def test_a_64_bit_column_takes_64_bit_values_only(engine: sa.Engine) -> None:
    ordering = newest_first(things.c.serial, things.c.id)
    with engine.connect() as connection:
        page = fetch_page(
            connection, sa.select(things), PageQuery(cursor=_raw([2**63 - 1, "z"])), ordering
        )
        assert len(page.rows) == 20
        with pytest.raises(InvalidCursor):
            fetch_page(
                connection, sa.select(things), PageQuery(cursor=_raw([2**63, "z"])), ordering
            )


def test_a_cursor_encodes_timestamps_in_utc() -> None:
    moment = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    cursor = encode_cursor([moment, "id-1"])
    padded = cursor + "=" * (-len(cursor) % 4)
    assert json.loads(base64.urlsafe_b64decode(padded)) == {
        "v": 1,
        "k": ["2026-05-01T12:00:00+00:00", "id-1"],
    }
