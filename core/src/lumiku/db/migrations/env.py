"""Alembic environment for Lumiku: one version table shared by the core and plugin branches."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from lumiku.db.engine import create_engine, is_sqlite


def _run(connection: Connection) -> None:
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
