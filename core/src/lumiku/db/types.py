"""Column types shared by the core and plugins.

``UTCDateTime`` is the one way to store a moment: every value written is an aware datetime
moved to UTC, and every value read back is an aware UTC datetime, on PostgreSQL
(``timestamptz``) and on SQLite (which keeps no zone: its text is read as UTC). Code that
reads a row never needs to patch the zone on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from lumiku.clock import require_aware


class UTCDateTime(TypeDecorator[datetime]):
    """A ``TIMESTAMP WITH TIME ZONE`` that takes and gives aware UTC datetimes only.

    Binding a naive datetime raises ``NaiveDatetimeError``: a moment without a zone is a
    bug to catch where it is written, not a guess to make where it is read.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        """Move an aware value to UTC before it is written."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        return require_aware(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        """Return the stored moment as an aware UTC datetime (SQLite's text is UTC)."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]
