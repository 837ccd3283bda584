"""Avatar Creator: a head revision whose id names the plugin; the schema does not change.

The version table keeps only each branch's head. With the plugin uninstalled, ``lumiku
migrate status`` can tell whose ``avatar_creator_0004`` is (``<plugin id>_<step>``) and say
how to drop its tables; ``ac0003_held_jobs`` named no plugin. Later revisions follow the
same naming.

Revision ID: avatar_creator_0004
Revises: ac0003_held_jobs
Create Date: 2026-11-30
"""

from __future__ import annotations

revision = "avatar_creator_0004"
down_revision = "ac0003_held_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Change nothing: the revision id in the version table is the point."""


def downgrade() -> None:
    """Change nothing."""
