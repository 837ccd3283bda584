"""Alembic revisions of the avatar_creator branch."""
