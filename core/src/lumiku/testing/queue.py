"""A job queue that records what a plugin enqueues, and can hold the jobs to run them later.

Every app the kit builds has one (``job_queue_of(client)`` returns it) and so has a
:class:`~lumiku.testing.PluginHarness`. It sends jobs on as the real queue does until told
to hold them; held jobs are run when the test says so, in the test's thread
(:meth:`RecordingJobQueue.run_held`) or through the broker (:meth:`RecordingJobQueue.release`,
then :func:`~lumiku.testing.drain`)::

    queue = job_queue_of(client)
    queue.hold()
    response = user.post("/generate", json=...)
    assert queue.held == [RecordedJob("my_plugin.generate", {"generation_id": ...})]
    queue.run_held()  # or: queue.release(); drain(client)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import dramatiq

from lumiku.jobs.enqueue import JobQueue, UnknownActorError

__all__ = ["RecordedJob", "RecordingJobQueue"]


@attrs.frozen
class RecordedJob:
    """One ``enqueue(actor_name, **kwargs)`` call."""

    actor_name: str
    kwargs: dict[str, Any]
    message_id: str = attrs.field(default="", eq=False)


class RecordingJobQueue(JobQueue):
    """A :class:`~lumiku.jobs.enqueue.JobQueue` that records every job it is given.

    While :meth:`hold` is on, jobs are kept instead of sent (the actor must still exist,
    as with the real queue). :meth:`refuse` makes it raise, as a queue that lost Redis does.
    """

    def __init__(self, broker: dramatiq.Broker, *, hold: bool = False) -> None:
        super().__init__(broker)
        self.jobs: list[RecordedJob] = []
        """Every job enqueued, sent or held, in order."""
        self.held: list[RecordedJob] = []
        """The jobs kept while holding and not yet run or released."""
        self._holding = hold
        self._refusal: Exception | None = None

    @property
    def holding(self) -> bool:
        """Return whether new jobs are kept instead of sent."""
        return self._holding

    def enqueue(self, actor_name: str, /, **kwargs: Any) -> str:
        """Record the job; hold it or send it; return its message id."""
        if self._refusal is not None:
            raise self._refusal
        if self._holding:
            self._actor(actor_name)
            job = RecordedJob(actor_name, dict(kwargs), uuid.uuid4().hex)
            self.held.append(job)
        else:
            job = RecordedJob(actor_name, dict(kwargs), super().enqueue(actor_name, **kwargs))
        self.jobs.append(job)
        return job.message_id

    def hold(self) -> None:
        """Keep the jobs enqueued from now on instead of sending them."""
        self._holding = True

    @contextmanager
    def holding_jobs(self) -> Iterator[RecordingJobQueue]:
        """Hold jobs inside the block; the jobs held stay in :attr:`held` after it."""
        was, self._holding = self._holding, True
        try:
            yield self
        finally:
            self._holding = was

    def refuse(self, error: Exception | None) -> None:
        """Raise ``error`` on every enqueue from now on (``None``: accept jobs again)."""
        self._refusal = error

    def release(self) -> list[str]:
        """Stop holding and send the held jobs to the broker, in order; return their ids.

        The app's worker (or a :func:`~lumiku.testing.stub_jobs` worker) runs them; wait for
        them with :func:`~lumiku.testing.drain`.
        """
        self._holding = False
        held, self.held = self.held, []
        sent = []
        for job in held:
            sent.append(super().enqueue(job.actor_name, **job.kwargs))
        return sent

    def run_held(self, *, limit: int = 100) -> int:
        """Run the held jobs' functions in this thread, in order; return how many ran.

        Jobs enqueued meanwhile are held and run too, up to ``limit`` jobs in all. Nothing
        of the broker runs: no retries, no middleware (``CurrentMessage`` is ``None``). An
        exception of a job is raised here, and the jobs after it stay held.
        """
        ran = 0
        with self.holding_jobs():
            while self.held:
                if ran >= limit:
                    raise RuntimeError(f"run_held stopped after {limit} jobs: do jobs loop?")
                job = self.held[0]
                self._actor(job.actor_name).fn(**job.kwargs)
                self.held.pop(0)
                ran += 1
        return ran

    def named(self, actor_name: str) -> list[dict[str, Any]]:
        """Return the keyword arguments of every job recorded for ``actor_name``."""
        return [job.kwargs for job in self.jobs if job.actor_name == actor_name]

    def clear(self) -> None:
        """Forget the recorded and the held jobs."""
        self.jobs.clear()
        self.held.clear()

    def _actor(self, actor_name: str) -> dramatiq.Actor[Any, Any]:
        try:
            return self.broker.get_actor(actor_name)
        except dramatiq.ActorNotFound:
            known = ", ".join(sorted(self.broker.actors)) or "none"
            raise UnknownActorError(
                f"no actor named {actor_name!r} is declared (declared: {known}); "
                "is its plugin enabled, and does its register_actors hook declare it?"
            ) from None
