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
    if not is_sqlite(connection.engine):
        _migrate(connection)
        return
    # Batch mode copies a table and drops the original, which SQLite refuses while rows of
    # other tables reference it and foreign keys are on (the implicit DELETE of DROP TABLE):
    # they are off while migrations run, and every reference is checked afterwards.
    _foreign_keys(connection, on=False)
    try:
        _migrate(connection)
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.commit()
        if broken:
            tables = sorted({str(row[0]) for row in broken})
            raise RuntimeError(
                f"After the migrations, {len(broken)} rows of {', '.join(tables)} reference "
                "rows that do not exist (PRAGMA foreign_key_check lists them)."
            )
    finally:
        _foreign_keys(connection, on=True)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        # Each revision in its own transaction on PostgreSQL: a failing step rolls back alone
        # and the version table never records a half-applied migration.
        transaction_per_migration=True,
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
