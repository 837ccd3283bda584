"""The retry and limit defaults every actor gets unless it overrides them."""

from __future__ import annotations

from datetime import timedelta

import attrs


def milliseconds(duration: timedelta) -> int:
    """Return ``duration`` in whole milliseconds, the unit Dramatiq options use."""
    return int(duration.total_seconds() * 1000)


@attrs.frozen
class JobPolicy:
    """Retries with exponential backoff, a run-time limit and a maximum queue age.

    Dramatiq's own defaults (20 retries, backoff up to 7 days) suit batch systems; a user
    waiting for a generation is better served by a few quick retries and a final failure
    that releases the credit hold.
    """

    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    min_backoff: timedelta = timedelta(seconds=2)
    max_backoff: timedelta = timedelta(minutes=5)
    time_limit: timedelta = timedelta(minutes=10)
    max_age: timedelta = timedelta(hours=24)

    def __attrs_post_init__(self) -> None:
        durations = {
            "min_backoff": self.min_backoff,
            "max_backoff": self.max_backoff,
            "time_limit": self.time_limit,
            "max_age": self.max_age,
        }
        for name, value in durations.items():
            if value <= timedelta(0):
                raise ValueError(f"JobPolicy.{name} must be positive, got {value}")
        if self.max_backoff < self.min_backoff:
            raise ValueError("JobPolicy.max_backoff must not be shorter than min_backoff")
