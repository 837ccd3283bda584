"""Run a plugin's actors in tests on an in-memory broker, without Redis.

Wrap :func:`stub_jobs` in a fixture of your own::

    @pytest.fixture
    def jobs(ctx):
        with stub_jobs(lambda broker: hooks.register_actors(ctx=ctx, broker=broker)) as jobs:
            yield jobs

    def test_generation_runs(jobs):
        jobs.queue.enqueue("avatar_creator.generate", generation_id="g1")
        jobs.join()

Messages can be delivered twice in production; :meth:`StubJobs.deliver_again` lets a test
prove that an actor is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import attrs
import dramatiq
from dramatiq.brokers.stub import StubBroker

from lumiku.jobs.broker import boot_process, build_broker
from lumiku.jobs.enqueue import JobQueue
from lumiku.jobs.policy import JobPolicy, milliseconds
from lumiku.jobs.stats import JobStats

__all__ = ["FAST_RETRIES", "StubJobs", "join", "stub_jobs"]

FAST_RETRIES = JobPolicy(
    min_backoff=timedelta(milliseconds=10), max_backoff=timedelta(milliseconds=100)
)
"""The default policy of the kit: production retry counts, backoffs short enough for tests."""

DEFAULT_JOIN_TIMEOUT = timedelta(seconds=10)


def join(
    broker: dramatiq.Broker,
    worker: dramatiq.Worker,
    *,
    timeout: timedelta = DEFAULT_JOIN_TIMEOUT,
    fail_fast: bool = True,
) -> None:
    """Wait until every queue of a stub ``broker`` is drained and ``worker`` is idle.

    With ``fail_fast`` the exception of a job that failed for good is raised here.
    Raises :class:`dramatiq.QueueJoinTimeout` when the queues do not drain in ``timeout``.
    """
    if not isinstance(broker, StubBroker):
        raise TypeError(f"join() drains a StubBroker, got {type(broker).__name__}")
    for queue_name in sorted(broker.get_declared_queues() - broker.delay_queues):
        broker.join(queue_name, timeout=milliseconds(timeout), fail_fast=fail_fast)
    worker.join()


@attrs.define
class StubJobs:
    """A stub broker with its actors declared and a worker consuming it."""

    broker: StubBroker
    worker: dramatiq.Worker
    queue: JobQueue
    stats: JobStats

    def join(self, *, timeout: timedelta = DEFAULT_JOIN_TIMEOUT, fail_fast: bool = True) -> None:
        """Wait until every queued job ran (see :func:`join`)."""
        join(self.broker, self.worker, timeout=timeout, fail_fast=fail_fast)

    def deliver_again(self, message_id: str) -> None:
        """Enqueue a copy of a message already sent, with the same id, as a broker may do.

        The message must have been sent through this kit's :attr:`queue` (or its broker)
        and must still be known: it is looked up among the messages the broker saw.
        """
        message = self._sent.get(message_id)
        if message is None:
            raise KeyError(f"message {message_id!r} was not sent through this broker")
        self.broker.enqueue(message)

    @property
    def dead_letters(self) -> list[dramatiq.MessageProxy]:
        """Return the messages that failed for good."""
        return self.broker.dead_letters

    _sent: dict[str, dramatiq.Message[Any]] = attrs.field(factory=dict, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.broker.add_middleware(_MessageLog(self._sent))


class _MessageLog(dramatiq.Middleware):
    """Keep every first-time message sent to the broker, so a test can deliver it again."""

    def __init__(self, sent: dict[str, dramatiq.Message[Any]]) -> None:
        self.sent = sent

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        """Record the message as it was first sent (retries are not recorded again)."""
        if delay is None and not message.options.get("retries"):
            self.sent.setdefault(message.message_id, message)


@contextmanager
def stub_jobs(
    *declare: Callable[[dramatiq.Broker], object],
    threads: int = 2,
    policy: JobPolicy = FAST_RETRIES,
) -> Iterator[StubJobs]:
    """Build a stub broker, call each ``declare(broker)`` to declare actors, run a worker.

    ``declare`` is typically a plugin's ``register_actors`` hook bound to its context. The
    worker is stopped when the block exits.
    """
    stats = JobStats()
    broker = build_broker(None, policy=policy, stats=stats)
    assert isinstance(broker, StubBroker)
    for register in declare:
        register(broker)
    jobs_worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=50)
    jobs = StubJobs(broker=broker, worker=jobs_worker, queue=JobQueue(broker), stats=stats)
    boot_process(broker)
    jobs_worker.start()
    try:
        yield jobs
    finally:
        jobs_worker.stop()
        broker.close()
