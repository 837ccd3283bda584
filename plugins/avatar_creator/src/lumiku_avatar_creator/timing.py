"""How long a generation job may take, and so how long its credit hold must last.

A job waits in the queue at most ``max_queue_age``, then runs up to ``max_retries + 1``
attempts of at most ``time_limit`` each, with backoffs between them. No attempt starts
once the generation is older than ``job_lifetime``: Dramatiq drops a message that old
(its AgeLimit), and the job itself fails a generation that old instead of claiming it
(a message the recovery enqueued is younger than its generation). An attempt that
started just before ``job_lifetime`` may run ``time_limit`` more, so the hold lasts
``job_lifetime + time_limit`` and a margin: a hold can only expire (and be released by
the core's sweeper) once no attempt of its job can run any more. A crash between placing
the hold and recording the generation therefore costs the user nothing after
``hold_ttl``.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from lumiku_avatar_creator.plugin import AvatarCreatorSettings

MAX_BACKOFF = timedelta(minutes=5)
LEASE_MARGIN = timedelta(minutes=1)
HOLD_MARGIN = timedelta(minutes=15)


@attrs.frozen
class JobTiming:
    """The limits of a generation job, derived from the plugin settings."""

    time_limit: timedelta
    max_retries: int
    min_backoff: timedelta
    max_queue_age: timedelta

    @classmethod
    def from_settings(cls, settings: AvatarCreatorSettings) -> JobTiming:
        """Read the limits from the plugin settings."""
        return cls(
            time_limit=timedelta(seconds=settings.time_limit),
            max_retries=settings.max_retries,
            min_backoff=timedelta(milliseconds=settings.retry_backoff_ms),
            max_queue_age=timedelta(seconds=settings.max_queue_age),
        )

    @property
    def max_backoff(self) -> timedelta:
        """Return the longest wait between two attempts."""
        return max(self.min_backoff, MAX_BACKOFF)

    @property
    def lease(self) -> timedelta:
        """Return how long an attempt owns a generation before another may take it over."""
        return self.time_limit + LEASE_MARGIN

    @property
    def job_lifetime(self) -> timedelta:
        """Return the age after which no attempt of a job can start any more."""
        attempts = self.max_retries + 1
        return self.max_queue_age + attempts * self.time_limit + self.max_retries * self.max_backoff

    @property
    def hold_ttl(self) -> timedelta:
        """Return how long a generation's credit hold lasts before the sweeper may release it.

        It covers the last attempt: one may start just before ``job_lifetime`` and run for
        ``time_limit``.
        """
        return self.job_lifetime + self.time_limit + HOLD_MARGIN

    @property
    def stall_after(self) -> timedelta:
        """Return how long a pending generation may go untouched before it is requeued.

        Longer than any wait its own message has between attempts (a backoff, or a
        redelivery waiting out another delivery's lease), so a requeue mostly finds a job
        whose message was lost; a duplicate it sends is harmless.
        """
        return self.lease + self.max_backoff
