"""Alembic revisions of the payments_duitku branch."""
