"""Core: on PostgreSQL, every change to ``users`` and ``revoked_tokens`` is announced.

Each server process caches the accounts of the tokens it has checked and drops one the
moment it hears that it changed (``lumiku.auth.change_feed``): these triggers send that
notice (``NOTIFY lumiku_auth, '<user id>'``; ``'*'`` for a TRUNCATE) from the changing
transaction itself, whoever writes (a request, the CLI, SQL typed by hand). PostgreSQL
delivers a notice when its transaction commits. SQLite needs none: its processes read the
account on every request.

Revision ID: 0007_auth_notices
Revises: 0006_balance_ceiling
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0007_auth_notices"
down_revision = "0006_balance_ceiling"
branch_labels = None
depends_on = None

_FUNCTION = """
CREATE OR REPLACE FUNCTION lumiku_auth_notice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('lumiku_auth', '*');
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify('lumiku_auth', CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
    ELSE
        PERFORM pg_notify(
            'lumiku_auth', CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END
        );
    END IF;
    RETURN NULL;
END $$
"""
_TRIGGERS = {
    "users_auth_notice": "AFTER UPDATE OR DELETE ON users FOR EACH ROW",
    "users_auth_notice_truncate": "AFTER TRUNCATE ON users FOR EACH STATEMENT",
    "revoked_tokens_auth_notice": "AFTER INSERT ON revoked_tokens FOR EACH ROW",
}


def upgrade() -> None:
    """Create the notice function and its triggers (PostgreSQL only)."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_FUNCTION)
    for name, when in _TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION lumiku_auth_notice()")


def downgrade() -> None:
    """Drop the triggers and the function."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, when in _TRIGGERS.items():
        table = when.split(" ON ")[1].split()[0]
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS lumiku_auth_notice()")
