"""Reads run from the event loop without a thread hop, for the hot paths (tokens, balance).

A hop to a worker thread costs more than a primary-key read (``docs/decisions.md``,
"Hot path"), so the few reads every request makes run here:

- **SQLite**: on the loop itself, on a connection of the loop's thread that can only read
  (``PRAGMA query_only``) and never waits. In WAL mode a read never waits for the writer;
  should the file be busy all the same (a checkpoint restarting the log), the statement is
  run again in a worker thread with the usual busy timeout. Each statement is its own
  transaction (no ``BEGIN``): it sees what was committed before it started.
- **PostgreSQL**: on an asyncio psycopg connection in autocommit (one round trip, no
  ``BEGIN``/``ROLLBACK``), from a small pool per event loop. A statement that takes more
  than ``timeout`` seconds raises ``ReadTimedOut`` (a ``TimeoutError``; the edge answers it
  503 as any database that cannot serve) and its connection is dropped.

Statements are written once with ``:name`` parameters (``Statement``). Rows come back as
the driver's tuples: SQLite gives timestamps as text (``as_utc`` turns either into an aware
UTC datetime). An in-memory SQLite database cannot be shared with another connection:
``available`` is false and callers take their usual path.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import psycopg
import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from lumiku.db.engine import is_sqlite

Row = tuple[Any, ...]
_NAMED = re.compile(r"(?<![:\w]):(\w+)")


class ReadTimedOut(TimeoutError):
    """A read from the loop took longer than the reader's ``timeout``: the database is
    stalled or overloaded (answered 503 ``SERVICE_UNAVAILABLE``, not 500)."""


@attrs.frozen
class Statement:
    """One SQL statement with ``:name`` parameters, in each driver's parameter style."""

    sqlite: str
    postgresql: str = attrs.field(init=False)

    @postgresql.default
    def _postgresql(self) -> str:
        return _NAMED.sub(r"%(\1)s", self.sqlite.replace("%", "%%"))


def as_utc(value: Any) -> datetime:
    """Return a timestamp read by either driver as an aware UTC datetime.

    Raises ``TypeError`` for anything that is not a timestamp or its SQLite text.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _SQLiteReads:
    """Read-only connections to one SQLite file, one per thread that runs a loop."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self._path, timeout=0, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA query_only=ON")
            self._local.connection = connection
        return connection

    def _blocking(self, sql: str, params: Mapping[str, Any], many: bool) -> Any:
        connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA query_only=ON")
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if many else cursor.fetchone()
        finally:
            connection.close()

    async def fetch(self, sql: str, params: Mapping[str, Any], many: bool) -> Any:
        try:
            cursor = self._connection().execute(sql, params)
            return cursor.fetchall() if many else cursor.fetchone()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        return await run_in_threadpool(self._blocking, sql, params, many)

    def close(self) -> None:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None


class _PostgresPool:
    """Autocommit asyncio connections of one event loop; at most ``size`` at once."""

    def __init__(self, conninfo: str, size: int, seconds: float) -> None:
        self._conninfo = conninfo
        self._seconds = seconds
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots = asyncio.Semaphore(size)

    async def _take(self) -> psycopg.AsyncConnection[Any]:
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, connect_timeout=5
        )

    async def fetch(self, sql: str, params: Mapping[str, Any], many: bool) -> Any:
        async with self._slots:
            connection = await self._take()
            try:
                async with asyncio.timeout(self._seconds):
                    cursor = await connection.execute(sql, params, prepare=True)
                    result = await (cursor.fetchall() if many else cursor.fetchone())
            except TimeoutError as exc:
                await connection.close()  # in an unknown state: never reused
                raise ReadTimedOut(f"a read took longer than {self._seconds} s") from exc
            except BaseException:
                await connection.close()  # in an unknown state: never reused
                raise
            if connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                self._idle.append(connection)
            else:
                await connection.close()
            return result

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    def abandon(self) -> None:
        """Close the connections of a loop that is gone (no loop to await their close)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.pgconn.finish()


class LoopReader:
    """Run read-only statements from the event loop (see the module's docstring)."""

    def __init__(self, engine: sa.Engine, *, pool_size: int = 4, timeout: float = 5.0) -> None:
        """Read the database of ``engine`` (its URL; never its pool)."""
        self.sqlite = is_sqlite(engine)
        self._timeout = timeout
        self._pool_size = pool_size
        self._pools: dict[asyncio.AbstractEventLoop, _PostgresPool] = {}
        self._sqlite_reads: _SQLiteReads | None = None
        self.conninfo = ""
        """The libpq URL of a PostgreSQL database (``""`` for SQLite)."""
        self.statements = 0
        """How many statements this reader has run (what the hot-path guard tests count)."""
        url = engine.url
        if self.sqlite:
            database = url.database or ""
            self.available = database not in ("", ":memory:") and not database.startswith("file:")
            if self.available:
                self._sqlite_reads = _SQLiteReads(database)
        else:
            self.available = True
            self.conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def fetch_one(self, statement: Statement, params: Mapping[str, Any]) -> Row | None:
        """Return the first row of ``statement``, or ``None``."""
        row: Row | None = await self._fetch(statement, params, many=False)
        return row

    async def fetch_all(self, statement: Statement, params: Mapping[str, Any]) -> list[Row]:
        """Return every row of ``statement``."""
        rows: list[Row] = await self._fetch(statement, params, many=True)
        return rows

    async def _fetch(self, statement: Statement, params: Mapping[str, Any], many: bool) -> Any:
        """Run ``statement``; driver errors are raised as SQLAlchemy's (``OperationalError``
        for a database that cannot serve: the edge answers 503), a slow read as
        ``ReadTimedOut``."""
        self.statements += 1
        try:
            return await self._run(statement, params, many)
        except (psycopg.Error, sqlite3.Error) as error:
            driver = psycopg.Error if isinstance(error, psycopg.Error) else sqlite3.Error
            raise sa.exc.DBAPIError.instance(
                statement.sqlite, dict(params), error, driver, hide_parameters=True
            ) from error

    async def _run(self, statement: Statement, params: Mapping[str, Any], many: bool) -> Any:
        if self._sqlite_reads is not None:
            return await self._sqlite_reads.fetch(statement.sqlite, params, many)
        if not self.available:
            raise RuntimeError("this database cannot be read from the loop; check `available`")
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            for other in [known for known in self._pools if known.is_closed()]:
                self._pools.pop(other).abandon()  # a test's loop that is gone
            pool = self._pools[loop] = _PostgresPool(self.conninfo, self._pool_size, self._timeout)
        return await pool.fetch(statement.postgresql, params, many)

    async def close(self) -> None:
        """Close the connections of the running loop (the app's shutdown)."""
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()
        if self._sqlite_reads is not None:
            self._sqlite_reads.close()
