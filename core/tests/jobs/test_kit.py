"""The plugin test kit: actors on a stub broker, join, and duplicate delivery."""

from __future__ import annotations

import dramatiq
import pytest

from lumiku.jobs import JobState, declare_actor
from lumiku.testing import drain, stub_jobs


class Inbox:
    """A fake store that remembers which generations an actor has completed."""

    def __init__(self) -> None:
        self.runs: list[str] = []
        self.completed: set[str] = set()

    def complete(self, generation_id: str) -> None:
        """Record a run, and complete the generation only once (an idempotent actor)."""
        self.runs.append(generation_id)
        self.completed.add(generation_id)

    def declare(self, broker: dramatiq.Broker) -> None:
        """Stand in for a plugin's register_actors hook."""
        declare_actor(broker, self.complete, name="demo.complete", queue="demo")


def test_an_actor_runs_through_the_kit() -> None:
    inbox = Inbox()

    with stub_jobs(inbox.declare) as jobs:
        jobs.queue.enqueue("demo.complete", generation_id="g1")
        jobs.queue.enqueue("demo.complete", generation_id="g2")
        drain(jobs, fail_fast=True)

    assert sorted(inbox.runs) == ["g1", "g2"]
    assert jobs.stats.count(JobState.PROCESSED, queue="demo") == 2


def test_a_duplicate_delivery_runs_the_actor_twice() -> None:
    inbox = Inbox()

    with stub_jobs(inbox.declare) as jobs:
        message_id = jobs.queue.enqueue("demo.complete", generation_id="g1")
        drain(jobs, fail_fast=True)
        jobs.deliver_again(message_id)
        drain(jobs, fail_fast=True)

    assert inbox.runs == ["g1", "g1"]
    assert inbox.completed == {"g1"}


def test_delivering_an_unknown_message_again_is_an_error() -> None:
    with stub_jobs(Inbox().declare) as jobs, pytest.raises(KeyError, match="nope"):
        jobs.deliver_again("nope")


def test_drain_raises_the_exception_of_a_job_that_failed_for_good_when_asked() -> None:
    def broken() -> None:
        raise LookupError("no such avatar")

    def declare(broker: dramatiq.Broker) -> None:
        declare_actor(broker, broken, name="demo.broken", queue="demo", max_retries=1)

    with stub_jobs(declare) as jobs:
        jobs.queue.enqueue("demo.broken")
        with pytest.raises(LookupError, match="no such avatar"):
            drain(jobs, fail_fast=True)

    assert len(jobs.dead_letters) == 1
    assert jobs.stats.count(JobState.RETRIED) == 1


def test_drain_refuses_a_broker_it_cannot_drain() -> None:
    broker = dramatiq.Broker()

    with pytest.raises(TypeError, match="in-memory jobs"):
        drain(broker)
