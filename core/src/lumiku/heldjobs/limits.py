"""How long a held job may take, and so how long its credit hold must last.

A message waits in the queue at most ``max_queue_age``; a job then runs attempts of at most
``time_limit`` each, up to ``max_retries`` retries with backoffs between them, and may be
requeued ``max_requeues`` times by the recovery when its worker died. No attempt starts
once the job is older than ``job_lifetime``: the job fails (keeping what it finished)
instead. An attempt that started just before may run ``time_limit`` more, so the hold lasts
``job_lifetime + time_limit`` and a margin: the sweeper can only release a hold once no
attempt of its job can run any more.

A claim's lease is short (``lease``) and renewed by a heartbeat every third of it while the
worker lives, so a job whose worker was killed is taken over within about ``lease`` plus
one recovery period, not after a whole time limit.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

HOLD_MARGIN = timedelta(minutes=15)
EXPIRED_MESSAGE = (
    "The job did not finish in time; the credits held for what it did not make were given back."
)


def _positive(_instance: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"JobLimits.{attribute.name} must be positive, got {value}")


@attrs.frozen(kw_only=True)
class JobLimits:
    """The limits of one kind of held job; the defaults suit image generation."""

    time_limit: timedelta = attrs.field(default=timedelta(minutes=15), validator=_positive)
    max_retries: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    min_backoff: timedelta = attrs.field(default=timedelta(seconds=2), validator=_positive)
    max_backoff: timedelta = attrs.field(default=timedelta(minutes=5), validator=_positive)
    max_queue_age: timedelta = attrs.field(default=timedelta(hours=1), validator=_positive)
    lease: timedelta = attrs.field(default=timedelta(seconds=45), validator=_positive)
    max_requeues: int = attrs.field(default=3, validator=attrs.validators.ge(0))
    lost_after: timedelta = attrs.field(default=timedelta(seconds=30), validator=_positive)
    """A pending job whose queued message is gone this long (Redis restarted empty) is
    queued again."""

    @property
    def heartbeat(self) -> timedelta:
        """Return how often a running job renews its lease."""
        return self.lease / 3

    @property
    def job_lifetime(self) -> timedelta:
        """Return the age after which no attempt of a job starts any more."""
        attempts = (self.max_retries + 1) * (self.max_requeues + 1)
        backoffs = self.max_retries * (self.max_requeues + 1) * self.max_backoff
        takeovers = self.max_requeues * (self.lease + self.lost_after)
        return self.max_queue_age + attempts * self.time_limit + backoffs + takeovers

    @property
    def hold_ttl(self) -> timedelta:
        """Return how long the credit hold of a job lasts before the sweeper may release it."""
        return self.job_lifetime + self.time_limit + HOLD_MARGIN

    @property
    def stall_after(self) -> timedelta:
        """Return how long a pending job may go untouched before it is queued again anyway.

        Longer than any wait its own message has (a backoff, a lease of another delivery),
        so a requeue mostly finds a job whose message was lost; a duplicate is harmless.
        """
        return self.lease + self.max_backoff + self.lost_after
