"""Database access: engine construction, the core metadata, and migrations."""

from lumiku.db.engine import create_engine, is_sqlite, ping
from lumiku.db.metadata import metadata

__all__ = ["create_engine", "is_sqlite", "metadata", "ping"]
