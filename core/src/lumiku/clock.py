"""Time for every service: a clock is a callable returning an aware UTC ``datetime``.

Services take a clock instead of calling ``datetime.now`` so that tests can move time
without sleeping (``lumiku.testing.ManualClock``), and so that every timestamp of one
operation comes from one place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


class NaiveDatetimeError(ValueError):
    """A datetime without a zone was given where a moment in UTC is expected."""


def utc_now() -> datetime:
    """Return the current moment as an aware UTC datetime (the production clock)."""
    return datetime.now(UTC)


def require_aware(value: datetime, *, what: str = "datetime") -> datetime:
    """Return ``value`` moved to UTC; raise ``NaiveDatetimeError`` when it has no zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(
            f"{what} {value.isoformat()} has no time zone; pass an aware datetime "
            "(datetime.now(UTC), or .replace(tzinfo=UTC) for a value known to be UTC)"
        )
    return value.astimezone(UTC)
