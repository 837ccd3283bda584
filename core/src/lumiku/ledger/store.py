"""The ledger's way into its database: transactions, single statements, the clock.

On PostgreSQL a single statement runs on an autocommit connection: the statement is its own
transaction, so there is no ``BEGIN`` before it nor ``COMMIT``/``ROLLBACK`` after it, which
are round trips the hot paths cannot afford. The hot statements (spend, hold) go one step
further and run on the pooled psycopg connection itself (``fetch_one``): SQLAlchemy's
``Connection`` layer around one call costs more client CPU than the statement's own
driver work, and with many threads that CPU is what limits spends per second. Work of
several statements runs in a transaction. SQLite has a single writer; the engine starts
every explicit transaction with ``BEGIN IMMEDIATE``, so both kinds of work run in one.
Reads (``reads``) take no writer lock on either database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

import attrs
import psycopg
import sqlalchemy as sa

from lumiku.clock import Clock, require_aware
from lumiku.db.engine import is_sqlite

# SQLSTATE codes on PostgreSQL; extended result code names on SQLite.
_UNIQUE = frozenset({"23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})
_FOREIGN_KEY = frozenset({"23503", "SQLITE_CONSTRAINT_FOREIGNKEY"})


def _error_code(error: sa.exc.DBAPIError) -> str | None:
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None)
    return code if isinstance(code, str) else None


def is_unique_violation(error: sa.exc.DBAPIError) -> bool:
    """Return whether ``error`` is a duplicate value in a unique column."""
    return _error_code(error) in _UNIQUE


def is_foreign_key_violation(error: sa.exc.DBAPIError) -> bool:
    """Return whether ``error`` is a reference to a missing row."""
    return _error_code(error) in _FOREIGN_KEY


def driver_sql(statement: sa.ClauseElement, engine: sa.Engine) -> str:
    """Return ``statement`` compiled for ``engine``, to run with named parameters."""
    compiled = statement.compile(dialect=engine.dialect)
    hidden = {name for name, value in compiled.params.items() if value is not None}
    if hidden:  # a literal compiled as a parameter would be missing from every call
        raise ValueError(f"statement binds literals {sorted(hidden)}; render them inline")
    return str(compiled)


@attrs.frozen
class Store:
    """An engine, the clock, and the two ways the ledger runs SQL on them."""

    engine: sa.Engine
    clock: Clock
    postgres: bool
    _autocommit: sa.Engine

    @classmethod
    def build(cls, engine: sa.Engine, clock: Clock) -> Store:
        """Wrap ``engine`` (SQLite or PostgreSQL) and ``clock``."""
        postgres = not is_sqlite(engine)
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT") if postgres else engine
        return cls(engine, clock, postgres, autocommit)

    def now(self) -> datetime:
        """Return the clock's time in UTC."""
        return require_aware(self.clock(), what="the ledger clock's time")

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """Yield a connection in a transaction, committed on exit, rolled back on error."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def statements(self) -> Iterator[sa.Connection]:
        """Yield a connection on which each statement is atomic on its own.

        On PostgreSQL that is an autocommit connection; on SQLite a transaction, whose
        single-writer lock makes the statements together atomic too.
        """
        if not self.postgres:
            with self.engine.begin() as connection:
                yield connection
            return
        with self._autocommit.connect() as connection:
            yield connection

    @contextmanager
    def reads(self) -> Iterator[sa.Connection]:
        """Yield a connection for reads only: nothing written on it is ever committed.

        On PostgreSQL each statement is its own transaction (autocommit, no ``BEGIN`` or
        ``ROLLBACK`` round trips); on SQLite the reads share one deferred transaction (one
        snapshot) that never takes the writer lock (``lumiku.db.engine``).
        """
        with self._autocommit.connect() as connection:
            yield connection

    def fetch_one(self, sql: str, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """Run one PostgreSQL statement as its own transaction; return its first row.

        It runs on the pooled psycopg connection, switched to autocommit for the call and
        back before the connection returns to the pool (a connection that cannot be
        switched back is discarded). Driver errors are raised as SQLAlchemy's
        (``IntegrityError``, ...), as anywhere else in the ledger.
        """
        pooled = self.engine.raw_connection()
        driver = cast(psycopg.Connection[Any], pooled.driver_connection)
        try:
            driver.autocommit = True
            with driver.cursor() as cursor:
                cursor.execute(sql, params)
                row: tuple[Any, ...] | None = cursor.fetchone()
        except psycopg.Error as error:
            raise sa.exc.DBAPIError.instance(sql, params, error, psycopg.Error) from error
        finally:
            try:
                driver.autocommit = False
            except psycopg.Error:  # broken, or still busy with an interrupted statement
                pooled.invalidate()
            pooled.close()
        return row
