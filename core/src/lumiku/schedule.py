"""Periodic core jobs, enqueued from the web process: the hold sweeper and reconciliation.

Both are idempotent, so several web nodes enqueueing them is harmless; the job itself runs
on whichever worker takes it (or the in-process worker when Redis is off).
"""

from __future__ import annotations

import asyncio
import logging
import time

import attrs

from lumiku.auth.actors import CLEANUP_ACTOR
from lumiku.jobs.enqueue import JobQueue
from lumiku.ledger.actors import RECONCILE_ACTOR, SWEEP_ACTOR

logger = logging.getLogger("lumiku.schedule")


@attrs.frozen
class Periodic:
    """An actor to enqueue every ``interval`` seconds."""

    actor: str
    interval: float


DEFAULT_SCHEDULE = (
    Periodic(SWEEP_ACTOR, 60.0),
    Periodic(RECONCILE_ACTOR, 3600.0),
    Periodic(CLEANUP_ACTOR, 86400.0),
)


async def run_schedule(jobs: JobQueue, schedule: tuple[Periodic, ...] = DEFAULT_SCHEDULE) -> None:
    """Enqueue each periodic job when it is due, until cancelled."""
    due = {item.actor: time.monotonic() + item.interval for item in schedule}
    while True:
        now = time.monotonic()
        for item in schedule:
            if now >= due[item.actor]:
                due[item.actor] = now + item.interval
                try:
                    await asyncio.to_thread(jobs.enqueue, item.actor)
                except Exception as exc:  # noqa: BLE001 - the next tick tries again
                    logger.warning("⚠️ could not enqueue %s: %s", item.actor, type(exc).__name__)
        await asyncio.sleep(max(0.5, min(due.values()) - time.monotonic()))
