"""The job enqueuer handed to plugins: send a message by actor name, or fail loudly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.stub import StubBroker

from lumiku.errors import ServiceUnavailable
from lumiku.jobs.broker import job_stats

logger = logging.getLogger("lumiku.jobs")


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
        self._fallback: dramatiq.Broker | None = None
        self._primary_up: Callable[[], bool] = lambda: True
        self._before_fallback: Callable[[], None] = lambda: None

    @property
    def broker(self) -> dramatiq.Broker:
        """Return the broker the jobs go to while Redis answers (the primary one)."""
        return self._broker

    @property
    def fallback(self) -> dramatiq.Broker | None:
        """Return the in-process broker jobs go to while Redis is away, if there is one."""
        return self._fallback

    def set_fallback(self, broker: dramatiq.Broker, *, primary_up: Callable[[], bool]) -> None:
        """Send jobs to ``broker`` (in-process, the same actors declared) whenever
        ``primary_up()`` is false or the primary broker cannot be reached: with Redis lost
        at runtime, jobs run in this process instead of being refused."""
        self._fallback = broker
        self._primary_up = primary_up

    def before_fallback(self, prepare: Callable[[], None]) -> None:
        """Call ``prepare()`` (idempotent: start the in-process worker) before a job goes
        to the fallback, so a process whose Redis never fails runs no worker threads."""
        self._before_fallback = prepare

    def active_broker(self) -> dramatiq.Broker:
        """Return the broker a job enqueued now goes to."""
        if self._fallback is not None and not self._primary_up():
            return self._fallback
        return self._broker

    def enqueue(self, actor_name: str, /, **kwargs: Any) -> str:
        """Queue a call of actor ``actor_name`` with ``kwargs`` and return the message id.

        ``kwargs`` must be JSON-serializable. Raises :class:`UnknownActorError` when no such
        actor is declared and :class:`~lumiku.errors.ServiceUnavailable` when the broker
        cannot take the job (Redis unreachable, or no in-process worker running).
        """
        broker = self.active_broker()
        try:
            if broker is self._fallback:
                sent = self._send_to_fallback(actor_name, kwargs)
            else:
                sent = self._send(broker, actor_name, kwargs)
        except (redis.RedisError, dramatiq.BrokerConnectionError) as exc:
            if self._fallback is not None and broker is not self._fallback:
                logger.warning(
                    "⚠️ Job %s could not reach Redis (%s); it runs in this process",
                    actor_name,
                    type(exc).__name__,
                )
                return str(self._send_to_fallback(actor_name, kwargs).message_id)
            raise ServiceUnavailable(
                f"The job queue cannot be reached, so job {actor_name!r} was not queued; "
                "check that Redis is up, then try again.",
                details={"actor": actor_name, "reason": type(exc).__name__},
            ) from exc
        return str(sent.message_id)

    def _send_to_fallback(self, actor_name: str, kwargs: dict[str, Any]) -> Any:
        assert self._fallback is not None
        self._before_fallback()
        return self._send(self._fallback, actor_name, kwargs)

    def _send(self, broker: dramatiq.Broker, actor_name: str, kwargs: dict[str, Any]) -> Any:
        try:
            actor = broker.get_actor(actor_name)
        except dramatiq.ActorNotFound:
            known = ", ".join(sorted(broker.actors)) or "none"
            raise UnknownActorError(
                f"no actor named {actor_name!r} is declared (declared: {known}); "
                "is its plugin enabled, and does its register_actors hook declare it?"
            ) from None
        self._ensure_consumer(broker, actor_name)
        return broker.enqueue(actor.message_with_options(kwargs=kwargs))

    def _ensure_consumer(self, broker: dramatiq.Broker, actor_name: str) -> None:
        # A stub broker lives in this process only: without a running worker a job sent to
        # it would wait in memory and vanish with the process.
        if not isinstance(broker, StubBroker):
            return
        stats = job_stats(broker)
        if stats is not None and stats.workers == 0:
            raise ServiceUnavailable(
                f"No in-process worker is running, so job {actor_name!r} was not queued; "
                "start the InProcessWorker (or enable Redis and run `lumiku worker`).",
                details={"actor": actor_name, "reason": "NoWorker"},
            )
