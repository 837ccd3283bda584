"""The clock the auth services read: a callable returning an aware UTC ``datetime``.

Services take a clock instead of calling ``datetime.now`` so that tests can move time
without sleeping, and so that every timestamp of one operation comes from one place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current time as an aware UTC ``datetime`` (the production clock)."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; a naive value (SQLite drops the zone) is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
