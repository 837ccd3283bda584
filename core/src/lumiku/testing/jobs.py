"""Jobs in tests: wait for the in-memory queues to drain, run actors without an app.

:func:`drain` is the one way to wait for jobs, whatever runs them: an app the kit built
(or its ``TestClient``, or its runtime) or a :func:`stub_jobs` broker.

Wrap :func:`stub_jobs` in a fixture of your own to run a plugin's actors without an app::

    @pytest.fixture
    def jobs(ctx):
        with stub_jobs(lambda broker: hooks.register_actors(ctx=ctx, broker=broker)) as jobs:
            yield jobs

    def test_generation_runs(jobs):
        jobs.queue.enqueue("avatar_creator.generate", generation_id="g1")
        drain(jobs)

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
from starlette.applications import Starlette

from lumiku.bootstrap import Runtime
from lumiku.jobs.broker import boot_process, build_broker
from lumiku.jobs.enqueue import JobQueue
from lumiku.jobs.policy import JobPolicy, milliseconds
from lumiku.jobs.stats import JobStats
from lumiku.testing.app import runtime_of
from lumiku.testing.client import TestClient

__all__ = ["FAST_RETRIES", "StubJobs", "drain", "stub_jobs"]

FAST_RETRIES = JobPolicy(
    min_backoff=timedelta(milliseconds=10), max_backoff=timedelta(milliseconds=100)
)
"""The default policy of the kit: production retry counts, backoffs short enough for tests."""

DEFAULT_DRAIN_TIMEOUT = timedelta(seconds=30)


def drain(
    jobs: StubJobs | Starlette | TestClient | Runtime | dramatiq.Broker,
    *,
    timeout: timedelta = DEFAULT_DRAIN_TIMEOUT,
    fail_fast: bool = False,
) -> None:
    """Wait until every job queued in memory has run, retries included.

    ``jobs`` is what runs them: a :class:`StubJobs`, an app built by the kit (its
    ``TestClient`` or its runtime will do), or a stub broker. With ``fail_fast`` the
    exception of a job that failed for good is raised here; without, look at the dead
    letters. Raises :class:`dramatiq.QueueJoinTimeout` when the queues are not empty
    within ``timeout``.
    """
    broker = _broker_of(jobs)
    if not isinstance(broker, StubBroker):
        raise TypeError(
            f"drain() waits for in-memory jobs; this broker is a {type(broker).__name__} "
            "(Redis): run a worker and poll for the outcome instead"
        )
    # Delay queues (``<queue>.DQ``) are joined with their queue: a retry scheduled on one
    # lands back on the main queue.
    for queue_name in sorted(broker.get_declared_queues() - broker.delay_queues):
        broker.join(queue_name, timeout=milliseconds(timeout), fail_fast=fail_fast)
    if isinstance(jobs, StubJobs):
        jobs.worker.join()


def _broker_of(jobs: object) -> dramatiq.Broker:
    if isinstance(jobs, dramatiq.Broker):
        return jobs
    if isinstance(jobs, StubJobs):
        return jobs.broker
    if isinstance(jobs, TestClient | Starlette):
        jobs = runtime_of(jobs)
    if isinstance(jobs, Runtime):
        # A Redis app's jobs run in memory only on its fallback (Redis lost at runtime).
        return jobs.fallback_broker or jobs.broker
    raise TypeError(f"drain() takes an app, a TestClient, a runtime or StubJobs, got {jobs!r}")


@attrs.define
class StubJobs:
    """A stub broker with its actors declared and a worker consuming it."""

    broker: StubBroker
    worker: dramatiq.Worker
    queue: JobQueue
    stats: JobStats

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
