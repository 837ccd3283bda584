"""Dramatiq middleware that counts jobs by state and logs failures with the actor's name."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.common import q_name

from lumiku.jobs.stats import JobState, JobStats
from lumiku.logs import current_context, end_job, start_job

logger = logging.getLogger("lumiku.jobs")
# Message options carrying the request that queued a job, for the job's log lines.
REQUEST_ID = "lumiku_request_id"
USER_ID = "lumiku_user_id"


class JobEvents(dramatiq.Middleware):
    """Feed a :class:`JobStats` from the broker's signals and log every failure.

    The counts do not depend on the order of the other middleware: a first enqueue is an
    ``enqueued``, a delayed re-enqueue carrying a retry count is a ``retried``, a finished
    run is ``processed`` and a rejected (dead-lettered) message is ``failed``.
    """

    def __init__(self, stats: JobStats) -> None:
        self.stats = stats
        self.process_booted = False

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        """Remember that the ``process_boot`` signal went out, so it goes out only once."""
        self.process_booted = True

    def before_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        """Carry the id (and user) of the request that queues the job into its log lines."""
        context = current_context()
        if context is None or context.job_id is not None or REQUEST_ID in message.options:
            return
        if context.request_id:
            message.options[REQUEST_ID] = context.request_id
        if context.user_id:
            message.options[USER_ID] = context.user_id

    def before_process_message(
        self, broker: dramatiq.Broker, message: dramatiq.MessageProxy
    ) -> None:
        """Name the job, its plugin (the queue) and its request in the lines it logs."""
        options = message.options
        start_job(
            message.message_id,
            q_name(message.queue_name),
            options.get(REQUEST_ID),
            options.get(USER_ID),
        )

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        """End the job's log context."""
        end_job()

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        """Count a new job, or a retry scheduled by the Retries middleware."""
        retried = bool(message.options.get("retries"))
        if delay is not None and retried:
            self.stats.record(JobState.RETRIED, queue=q_name(message.queue_name))
        elif delay is None and not retried:
            # A delayed message moved to its queue when due is counted then, exactly once.
            self.stats.record(JobState.ENQUEUED, queue=q_name(message.queue_name))

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        """Count a successful run, or log a failed attempt with the actor's name."""
        if exception is None:
            self.stats.record(JobState.PROCESSED, queue=q_name(message.queue_name))
        else:
            logger.warning(
                "⚠️ Job %s (message %s) failed: %s: %s",
                message.actor_name,
                message.message_id,
                type(exception).__name__,
                exception,
            )
        end_job()  # the "after" hooks run in reverse order: this one is the last

    def after_nack(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        """Count and log a job that failed for good (retries exhausted, too old, or aborted)."""
        self.stats.record(JobState.FAILED, queue=q_name(message.queue_name))
        self.before_process_message(broker, message)  # after its run: its context again
        logger.error(
            "❌ Job %s (message %s) failed for good after %d failed attempts; it was dead-lettered",
            message.actor_name,
            message.message_id,
            message.options.get("retries", 0),
        )
        end_job()

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Count a worker that consumes this broker."""
        self.stats.worker_started()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        """Stop counting a worker as soon as it begins to shut down."""
        self.stats.worker_stopped()
