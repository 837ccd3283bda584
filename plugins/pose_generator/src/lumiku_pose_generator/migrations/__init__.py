"""Alembic revisions of the pose_generator branch."""
