"""The job enqueuer handed to plugins: send a message by actor name, or fail loudly."""

from __future__ import annotations

from typing import Any

import dramatiq
import redis
from dramatiq.brokers.stub import StubBroker

from lumiku.errors import ServiceUnavailable
from lumiku.jobs.broker import job_stats


class UnknownActorError(LookupError):
    """No actor of that name is declared on the broker (its plugin is off, or a typo)."""


class JobQueue:
    """Enqueue jobs by actor name on one broker.

    A job is either queued where a worker will run it or refused with
    :class:`~lumiku.errors.ServiceUnavailable`: never silently dropped. Callers that hold
    credits for the job release the hold when it is refused.
    """

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._broker = broker

    @property
    def broker(self) -> dramatiq.Broker:
        """Return the broker the jobs go to."""
        return self._broker

    def enqueue(self, actor_name: str, /, **kwargs: Any) -> str:
        """Queue a call of actor ``actor_name`` with ``kwargs`` and return the message id.

        ``kwargs`` must be JSON-serializable. Raises :class:`UnknownActorError` when no such
        actor is declared and :class:`~lumiku.errors.ServiceUnavailable` when the broker
        cannot take the job (Redis unreachable, or no in-process worker running).
        """
        try:
            actor = self._broker.get_actor(actor_name)
        except dramatiq.ActorNotFound:
            known = ", ".join(sorted(self._broker.actors)) or "none"
            raise UnknownActorError(
                f"no actor named {actor_name!r} is declared (declared: {known}); "
                "is its plugin enabled, and does its register_actors hook declare it?"
            ) from None
        self._ensure_consumer(actor_name)
        message = actor.message_with_options(kwargs=kwargs)
        try:
            sent = self._broker.enqueue(message)
        except (redis.RedisError, dramatiq.BrokerConnectionError) as exc:
            raise ServiceUnavailable(
                f"The job queue cannot be reached, so job {actor_name!r} was not queued; "
                "check that Redis is up, then try again.",
                details={"actor": actor_name, "reason": type(exc).__name__},
            ) from exc
        return sent.message_id

    def _ensure_consumer(self, actor_name: str) -> None:
        # A stub broker lives in this process only: without a running worker a job sent to
        # it would wait in memory and vanish with the process.
        if not isinstance(self._broker, StubBroker):
            return
        stats = job_stats(self._broker)
        if stats is not None and stats.workers == 0:
            raise ServiceUnavailable(
                f"No in-process worker is running, so job {actor_name!r} was not queued; "
                "start the InProcessWorker (or enable Redis and run `lumiku worker`).",
                details={"actor": actor_name, "reason": "NoWorker"},
            )
