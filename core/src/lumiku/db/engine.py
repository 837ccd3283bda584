"""Build SQLAlchemy engines for the two supported databases.

SQLite is the embedded default: WAL, foreign keys and ``BEGIN IMMEDIATE`` so that a write
transaction takes the single writer lock up front instead of failing half-way with
"database is locked". PostgreSQL goes through psycopg 3 with a pre-pinged pool, so a
restarted server is noticed by readiness checks instead of by a user request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from lumiku.errors import ConfigurationError

DEFAULT_SQLITE_FOLDER = Path("var")
"""The folder of the default database (``sqlite:///./var/lumiku.db``), the one folder a
SQLite engine creates when it is missing."""


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
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
        engine = sa.create_engine(
            parsed,
            echo=echo,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(
        parsed,
        echo=echo,
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size * 2,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"connect_timeout": 5},
    )
