"""Build SQLAlchemy engines for the two supported databases.

SQLite is the embedded default: WAL, foreign keys, and two kinds of transaction. An explicit
``engine.begin()`` / ``connection.begin()`` (how every write is made) starts with ``BEGIN
IMMEDIATE``, so a write transaction takes the single writer lock up front instead of failing
half-way with "database is locked". The transaction a read opens by itself
(``with engine.connect() as c: c.execute(select)``, never committed) starts with a deferred
``BEGIN``: it reads one snapshot and never takes the writer lock, so reads neither wait for
writers nor queue behind each other.

PostgreSQL goes through psycopg 3. A pooled connection idle for more than
``IDLE_PING_SECONDS`` is pinged before it is handed out, so a restarted server is noticed
by readiness checks instead of by a user request, while connections in steady use (a
loaded server) cost no extra round trip per checkout.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from lumiku.errors import ConfigurationError

DEFAULT_SQLITE_FOLDER = Path("var")
"""The folder of the default database (``sqlite:///./var/lumiku.db``), the one folder a
SQLite engine creates when it is missing."""


IDLE_PING_SECONDS = 2.0
"""A pooled PostgreSQL connection idle longer than this is pinged before it is handed out."""

_AUTOBEGIN = sa.Connection._autobegin.__code__
SQLITE_POOL_SIZE = 20


def _opened_by_a_read() -> bool:
    """Return whether the transaction being begun is one a statement opened by itself.

    SQLAlchemy fires the same "begin" event for ``Connection.begin()`` and for the
    transaction a statement opens on a connection without one (``_autobegin``); the only
    difference is that caller, a few frames up.
    """
    frame: FrameType | None = sys._getframe(2)
    for _ in range(8):
        if frame is None:
            return False
        if frame.f_code is _AUTOBEGIN:
            return True
        frame = frame.f_back
    return False


def is_sqlite(engine_or_url: Engine | str) -> bool:
    """Return whether ``engine_or_url`` points at SQLite."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how transactions start (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Deferred for a read's own transaction: writes in it would never be committed
        # (nothing in Lumiku commits a connection it did not begin explicitly).
        connection.exec_driver_sql("BEGIN" if _opened_by_a_read() else "BEGIN IMMEDIATE")


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["lumiku_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("lumiku_idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return  # new, or in steady use: a dead server shows on the statement itself
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError("the pooled connection did not answer") from exc
        if not alive:
            raise sa.exc.DisconnectionError("the pooled connection did not answer")


def _ensure_folder(database: Path) -> None:
    """Create the default database's folder; refuse any other missing folder.

    A typo in an explicit path (``sqlite:////srv/lumikku/x.db``) must not start a server on
    an empty database in a folder nobody meant to create.
    """
    folder = database.parent
    if folder.is_dir():
        return
    if folder == DEFAULT_SQLITE_FOLDER:
        folder.mkdir(parents=True, exist_ok=True)
        return
    rule = (
        f"names the SQLite file {database}, whose folder {folder} does not exist; create the "
        "folder (and give the server's user write access) or correct the path"
    )
    raise ConfigurationError(
        f"DATABASE_URL {rule}.", details={"problems": [{"variable": "DATABASE_URL", "rule": rule}]}
    )


def ping(engine: Engine) -> None:
    """Run ``SELECT 1``; raise ``SQLAlchemyError`` when the database does not answer."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """Create an engine for ``url`` (``sqlite:///...`` or ``postgresql+psycopg://...``).

    Raises ``ConfigurationError`` when a SQLite file's folder does not exist (only the
    default ``./var`` is created). Statement parameters are hidden from errors and logs
    (``hide_parameters``): a failing insert must never write a password hash, an email or
    a token into the server log.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            _ensure_folder(Path(database))
        options: dict[str, Any] = {}
        if database and database != ":memory:":
            # Connections to a file are cheap to keep: opening one per request past the
            # default pool of 5 (PRAGMAs included) cost more than the read it served.
            options = {"pool_size": SQLITE_POOL_SIZE, "max_overflow": SQLITE_POOL_SIZE * 4}
        engine = sa.create_engine(
            parsed,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
            **options,
        )
        _configure_sqlite(engine)
        return engine
    engine = sa.create_engine(
        parsed,
        echo=echo,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_timeout=10,
        connect_args={"connect_timeout": 5},
    )
    _configure_postgresql(engine)
    return engine
