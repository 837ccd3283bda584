"""Duitku payments: a head revision whose id names the plugin; the schema does not change.

The version table keeps only each branch's head. With the plugin uninstalled, ``lumiku
migrate status`` can tell whose ``payments_duitku_0002`` is (``<plugin id>_<step>``) and say
how to drop its tables; ``pd0001_tables`` named no plugin. Later revisions follow the same
naming.

Revision ID: payments_duitku_0002
Revises: pd0001_tables
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "payments_duitku_0002"
down_revision = "pd0001_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Change nothing: the revision id in the version table is the point."""


def downgrade() -> None:
    """Change nothing."""
