"""Alembic environment for Lumiku: one version table shared by the core and plugin branches."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from lumiku.db.engine import create_engine, is_sqlite


def _foreign_keys(connection: Connection, *, on: bool) -> None:
    # SQLite changes this pragma only outside a transaction, and every SQLAlchemy
    # transaction of a Lumiku engine begins one (BEGIN IMMEDIATE): use the driver's
    # connection, in autocommit mode, between transactions.
    if connection.in_transaction():
        connection.commit()
    driver = connection.connection.dbapi_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _run(connection: Connection) -> None:
    # Every step of the run shares one transaction (both databases make DDL transactional;
    # the Lumiku SQLite engine begins its transactions itself, and batch mode's copy, drop
    # and rename are plain statements): a step that fails or refuses, such as a plugin's
    # downgrade that keeps paid payments, leaves the version table and every table as they
    # were, never half way.
    if not is_sqlite(connection.engine):
        with connection.begin():
            _migrate(connection)
        return
    # Batch mode copies a table and drops the original, which SQLite refuses while rows of
    # other tables reference it and foreign keys are on (the implicit DELETE of DROP TABLE):
    # they are off while migrations run, and every reference is checked before the commit.
    _foreign_keys(connection, on=False)
    try:
        with connection.begin():
            _migrate(connection)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                tables = sorted({str(row[0]) for row in broken})
                raise RuntimeError(
                    f"after the migrations, {_rows(len(broken))} of {', '.join(tables)} "
                    "would reference rows that do not exist (PRAGMA foreign_key_check "
                    "lists them); nothing was changed"
                )
    finally:
        _foreign_keys(connection, on=True)


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        # The run's transaction is begun by ``_run`` (Alembic joins it): one for all steps.
        transaction_per_migration=False,
        render_as_batch=is_sqlite(connection.engine),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on the connection handed in by ``lumiku.db.migrate``, or on the URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


run_migrations_online()
