"""Errors that say the database cannot serve right now are 503s, whichever layer raised them."""

from __future__ import annotations

import asyncio
import sqlite3

import psycopg
import pytest
import sqlalchemy as sa

from lumiku.db.loop_reads import LoopReader, ReadTimedOut, Statement
from lumiku.http.errors import database_unavailable, internal_error_response


@pytest.mark.parametrize(
    "error",
    [
        sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        # The event loop's reads (lumiku.db.loop_reads) raise the drivers' own errors.
        psycopg.OperationalError("consuming input failed: server closed the connection"),
        psycopg.InterfaceError("the connection is closed"),
        sqlite3.OperationalError("database is locked"),
    ],
)
def test_a_database_that_cannot_serve_is_503_with_retry_after(error: Exception) -> None:
    assert database_unavailable(error)
    response = internal_error_response(error, where="GET /x")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


def test_a_bug_is_still_a_500() -> None:
    error = psycopg.ProgrammingError("syntax error")
    assert not database_unavailable(error)
    assert internal_error_response(error, where="GET /x").status_code == 500


def test_a_stalled_read_from_the_loop_is_503_and_a_plain_timeout_a_500(postgres_url: str) -> None:
    """The reads run from the event loop raise ``ReadTimedOut`` past their limit (a real
    PostgreSQL statement that outlasts it); any other ``TimeoutError`` is a bug (500)."""
    engine = sa.create_engine(postgres_url)
    reader = LoopReader(engine, timeout=0.2)

    async def stalled() -> object:
        return await reader.fetch_one(Statement("SELECT pg_sleep(2)"), {})

    with pytest.raises(ReadTimedOut) as raised:
        asyncio.run(stalled())
    assert internal_error_response(raised.value, where="GET /x").status_code == 503
    assert internal_error_response(TimeoutError(), where="GET /x").status_code == 500
    engine.dispose()
