"""Generations whose job stalled: requeued while they can still run, expired after that.

A job can stall without anyone noticing: its worker died holding the claim and the
message was acked or lost (an in-process worker goes down with its process), the broker
dropped the message as too old, or every retry was spent waiting for another delivery's
claim. The recovery actor (``avatar_creator.recover_stalled``) finds them:

- an open generation without avatar, older than ``JobTiming.job_lifetime`` and run by
  nobody (pending, or its claim lapsed), can no longer run: it is failed as ``EXPIRED``
  and its hold released, and its error says what became of the credits;
- a generation whose claim lapsed, or pending and untouched for ``JobTiming.stall_after``,
  is put back to ``pending`` (``updated_at`` set, so once per period) and its job
  enqueued again. The job is idempotent, so a duplicate message is harmless.

The web process enqueues the recovery every ``recovery_interval`` seconds from a task the
plugin's ``startup`` hook starts (and ``shutdown`` cancels); every web node does, and the
conditional updates make concurrent runs harmless. ``GET /generations/{id}`` expires its
generation the same way when it reads one past its lifetime, so a stalled generation
never shows as running for ever even where no recovery runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import dramatiq

from lumiku import PluginContext, declare_actor
from lumiku_avatar_creator.generations import GENERATE_ACTOR, QUEUE
from lumiku_avatar_creator.settlement import GivenBack, Settlement
from lumiku_avatar_creator.timing import JobTiming
from lumiku_avatar_creator.transitions import (
    expire_stalled,
    requeue_stalled,
    set_error_message,
)

RECOVER_ACTOR = "avatar_creator.recover_stalled"
EXPIRED = "EXPIRED"
_LATE = "The generation did not finish in time"
EXPIRED_MESSAGES: dict[GivenBack | None, str] = {
    None: f"{_LATE}; no credits were held for it.",
    "released": f"{_LATE}; its credits were given back.",
    "pending": f"{_LATE}; its credits will be given back when their reservation expires.",
    "charged": f"{_LATE}, but its credits had already been charged; contact support.",
}


class Expiry:
    """Fail generations that outlived their job, and give their holds back."""

    def __init__(self, ctx: PluginContext, settlement: Settlement, timing: JobTiming) -> None:
        self._engine = ctx.engine
        self._logger = ctx.logger
        self._settlement = settlement
        self._timing = timing

    def expire(self, generation_id: str | None = None) -> int:
        """Expire every stalled generation past its lifetime (or only ``generation_id``)."""
        now = datetime.now(UTC)
        failed = expire_stalled(
            self._engine,
            now,
            now - self._timing.job_lifetime,
            f"{_LATE}.",
            generation_id=generation_id,
        )
        for failed_id, hold_id in failed:
            self.give_back(failed_id, hold_id, EXPIRED)
        return len(failed)

    def give_back(self, generation_id: str, hold_id: str | None, code: str) -> GivenBack | None:
        """Release the hold of a generation just failed with ``code``; word its error after it."""
        outcome = None
        if hold_id:
            outcome = self._settlement.give_back(hold_id, reason=f"generation {code.lower()}")
        if outcome == "charged":
            self._logger.error(
                "❌ generation %s failed (%s) but its hold %s had been captured",
                generation_id,
                code,
                hold_id,
            )
        set_error_message(self._engine, generation_id, code, EXPIRED_MESSAGES[outcome])
        return outcome


@attrs.frozen
class Recovered:
    """What one recovery run did."""

    expired: int
    requeued: int


class Recovery:
    """The recovery actor and the task that enqueues it periodically."""

    def __init__(
        self, ctx: PluginContext, expiry: Expiry, timing: JobTiming, interval: timedelta
    ) -> None:
        self._ctx = ctx
        self._expiry = expiry
        self._timing = timing
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def run(self) -> Recovered:
        """Expire what can no longer run, then requeue what stalled; see the module docstring."""
        expired = self._expiry.expire()
        now = datetime.now(UTC)
        requeued = requeue_stalled(self._ctx.engine, now, now - self._timing.stall_after)
        for generation_id in requeued:
            try:
                self._ctx.jobs.enqueue(GENERATE_ACTOR, generation_id=generation_id)
            except Exception as exc:  # noqa: BLE001 - the next period requeues it again
                self._ctx.logger.warning(
                    "⚠️ stalled generation %s could not be requeued: %s",
                    generation_id,
                    type(exc).__name__,
                )
        if expired or requeued:
            self._ctx.logger.info(
                "recovery: %d stalled generation(s) expired, %d requeued", expired, len(requeued)
            )
        return Recovered(expired, len(requeued))

    def declare(self, broker: dramatiq.Broker) -> dramatiq.Actor[..., None]:
        """Declare the recovery actor on ``broker`` (not retried: the next period runs it)."""

        def recover_stalled() -> None:
            """Expire and requeue stalled generations."""
            self.run()

        return declare_actor(
            broker,
            recover_stalled,
            name=RECOVER_ACTOR,
            queue=QUEUE,
            max_retries=0,
            time_limit=timedelta(minutes=5),
        )

    async def start(self) -> None:
        """Start enqueueing the recovery actor every ``interval`` (the ``startup`` hook)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._every_interval())

    async def stop(self) -> None:
        """Stop the periodic task (the ``shutdown`` hook)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _every_interval(self) -> None:
        seconds = self.interval.total_seconds()
        while True:
            await asyncio.sleep(seconds)
            await self.enqueue()

    async def enqueue(self) -> Any:
        """Enqueue one recovery run; log (and go on) when the queue refuses it."""
        try:
            return await asyncio.to_thread(self._ctx.jobs.enqueue, RECOVER_ACTOR)
        except Exception as exc:  # noqa: BLE001 - the next period tries again
            self._ctx.logger.warning(
                "⚠️ could not enqueue %s: %s", RECOVER_ACTOR, type(exc).__name__
            )
            return None
