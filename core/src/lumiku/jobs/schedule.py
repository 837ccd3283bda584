"""Periodic jobs: a function to run every so often, on whichever worker takes it.

The core and plugins describe them the same way, as ``Schedule`` values (plugins return
them from the ``register_schedules`` hook). Each becomes an actor ``<owner>.<name>`` on the
owner's queue, not retried (the next period runs it again), and the web process enqueues it
when it is due. Every web node enqueues, so a periodic job must be idempotent: the ledger's
sweeper and the held-jobs recovery are conditional updates that several runs leave as one.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

import attrs
import dramatiq

from lumiku.jobs.broker import declare_actor
from lumiku.jobs.enqueue import JobQueue

logger = logging.getLogger("lumiku.schedule")

_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
MIN_EVERY = timedelta(seconds=1)


def _check_name(_instance: object, _attribute: object, value: str) -> None:
    if not _NAME.fullmatch(value):
        raise ValueError(f"schedule name {value!r} must be snake_case, e.g. 'recover_stalled'")


def _check_every(_instance: object, _attribute: object, value: timedelta) -> None:
    if value < MIN_EVERY:
        raise ValueError(f"a schedule runs at most once a second, got every={value}")


@attrs.frozen
class Schedule:
    """Run ``run()`` every ``every`` on a worker (first run one period after start).

    ``run`` takes no arguments; what it returns is ignored and what it raises is logged
    (the next period tries again). It must be idempotent: several web nodes may enqueue
    the same period.
    """

    name: str = attrs.field(validator=_check_name)
    every: timedelta = attrs.field(validator=_check_every)
    run: Callable[[], object] = attrs.field(eq=False)
    time_limit: timedelta = timedelta(minutes=5)


@attrs.frozen
class ScheduledActor:
    """A schedule declared on a broker: the actor to enqueue and how often."""

    actor_name: str
    every: timedelta


def declare_schedules(
    broker: dramatiq.Broker, owner: str, schedules: Sequence[Schedule]
) -> list[ScheduledActor]:
    """Declare each schedule as actor ``<owner>.<name>`` on queue ``owner``; return them."""
    declared = []
    for schedule in schedules:
        actor = declare_actor(
            broker,
            _runner(schedule),
            name=f"{owner}.{schedule.name}",
            queue=owner,
            max_retries=0,
            time_limit=schedule.time_limit,
        )
        declared.append(ScheduledActor(actor.actor_name, schedule.every))
    return declared


def _runner(schedule: Schedule) -> Callable[[], None]:
    def run() -> None:
        schedule.run()

    run.__name__ = schedule.name
    run.__doc__ = f"Run the periodic job {schedule.name!r}."
    return run


class Scheduler:
    """Enqueue each scheduled actor when it is due (the web process runs one)."""

    def __init__(
        self,
        jobs: JobQueue,
        scheduled: Sequence[ScheduledActor],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jobs = jobs
        self._clock = clock
        start = clock()
        self._due = {item.actor_name: start + item.every.total_seconds() for item in scheduled}
        self._every = {item.actor_name: item.every.total_seconds() for item in scheduled}

    def due(self) -> list[str]:
        """Return the actors due now and move each one's next time a period on."""
        now = self._clock()
        ready = [name for name, at in self._due.items() if now >= at]
        for name in ready:
            self._due[name] = now + self._every[name]
        return ready

    def enqueue_due(self) -> list[str]:
        """Enqueue the actors due now; a refused enqueue is logged (the next period retries)."""
        sent = []
        for name in self.due():
            try:
                self._jobs.enqueue(name)
            except Exception as exc:  # noqa: BLE001 - the next period tries again
                logger.warning("⚠️ could not enqueue %s: %s", name, type(exc).__name__)
                continue
            sent.append(name)
        return sent

    def seconds_to_next(self) -> float:
        """Return how long until the next actor is due (at least half a second)."""
        if not self._due:
            return 3600.0
        return max(0.5, min(self._due.values()) - self._clock())

    async def run(self) -> None:
        """Enqueue due actors until cancelled."""
        while True:
            await asyncio.to_thread(self.enqueue_due)
            await asyncio.sleep(self.seconds_to_next())
