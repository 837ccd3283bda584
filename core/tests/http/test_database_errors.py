"""Errors that say the database cannot serve right now are 503s, whichever layer raised them."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa

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
