"""RecordingJobQueue: records every job, holds them on demand, runs or releases them later."""

from __future__ import annotations

from typing import Any

import dramatiq
import pytest

from lumiku import ServiceUnavailable, declare_actor
from lumiku.jobs.broker import build_broker
from lumiku.jobs.enqueue import UnknownActorError
from lumiku.testing import (
    FAST_RETRIES,
    RecordedJob,
    RecordingJobQueue,
    define_plugin,
    drain,
    job_queue_of,
    stub_jobs,
)


class Inbox:
    """The actors' side effects."""

    def __init__(self) -> None:
        self.greeted: list[str] = []
        self.queue: RecordingJobQueue | None = None

    def declare(self, broker: dramatiq.Broker) -> None:
        declare_actor(broker, self.greet, name="demo.greet", queue="demo")
        declare_actor(broker, self.chain, name="demo.chain", queue="demo")

    def greet(self, name: str) -> None:
        self.greeted.append(name)

    def chain(self, names: list[str]) -> None:
        """Enqueue a greeting per name: a job that enqueues jobs."""
        assert self.queue is not None
        for name in names:
            self.queue.enqueue("demo.greet", name=name)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def queue(inbox: Inbox) -> RecordingJobQueue:
    """A holding queue on a broker with the demo actors and no worker."""
    broker = build_broker(None, policy=FAST_RETRIES)
    inbox.declare(broker)
    inbox.queue = RecordingJobQueue(broker, hold=True)
    return inbox.queue


def test_held_jobs_are_recorded_not_sent(queue: RecordingJobQueue, inbox: Inbox) -> None:
    message_id = queue.enqueue("demo.greet", name="ana")

    assert queue.held == queue.jobs == [RecordedJob("demo.greet", {"name": "ana"})]
    assert queue.held[0].message_id == message_id
    assert queue.named("demo.greet") == [{"name": "ana"}]
    assert inbox.greeted == []
    assert queue.broker.queues["demo"].qsize() == 0  # nothing reached the broker


def test_run_held_runs_them_in_order_with_the_jobs_they_enqueue(
    queue: RecordingJobQueue, inbox: Inbox
) -> None:
    queue.enqueue("demo.greet", name="ana")
    queue.enqueue("demo.chain", names=["bo", "cy"])

    assert queue.run_held() == 4

    assert inbox.greeted == ["ana", "bo", "cy"]
    assert queue.held == []
    assert [job.actor_name for job in queue.jobs] == [
        "demo.greet",
        "demo.chain",
        *["demo.greet"] * 2,
    ]
    assert queue.holding  # still holding new jobs


def test_run_held_stops_a_job_loop(queue: RecordingJobQueue) -> None:
    def forever() -> None:
        queue.enqueue("demo.forever")

    declare_actor(queue.broker, forever, name="demo.forever", queue="demo")
    queue.enqueue("demo.forever")

    with pytest.raises(RuntimeError, match="stopped after 5 jobs"):
        queue.run_held(limit=5)


def test_a_failing_held_job_raises_and_stays_held(queue: RecordingJobQueue) -> None:
    queue.enqueue("demo.greet", wrong="argument")
    queue.enqueue("demo.greet", name="ana")

    with pytest.raises(TypeError):
        queue.run_held()

    assert [job.kwargs for job in queue.held] == [{"wrong": "argument"}, {"name": "ana"}]


def test_an_unknown_actor_is_refused_even_while_holding(queue: RecordingJobQueue) -> None:
    with pytest.raises(UnknownActorError, match=r"demo\.gret.*declared: demo\.chain"):
        queue.enqueue("demo.gret", name="typo")
    assert queue.jobs == []


def test_released_jobs_run_on_the_worker() -> None:
    inbox = Inbox()
    with stub_jobs(inbox.declare) as jobs:
        queue = RecordingJobQueue(jobs.broker)
        with queue.holding_jobs():
            queue.enqueue("demo.greet", name="ana")
        queue.enqueue("demo.greet", name="bo")  # sent at once: not holding any more
        drain(jobs)
        assert inbox.greeted == ["bo"]

        sent = queue.release()
        drain(jobs)

    assert inbox.greeted == ["bo", "ana"]
    assert len(sent) == 1
    assert queue.held == []
    assert [job.kwargs["name"] for job in queue.jobs] == ["ana", "bo"]


def test_a_refusing_queue_raises_what_it_is_given(queue: RecordingJobQueue) -> None:
    queue.refuse(ServiceUnavailable("the job queue cannot be reached"))
    with pytest.raises(ServiceUnavailable, match="cannot be reached"):
        queue.enqueue("demo.greet", name="ana")
    assert queue.jobs == []

    queue.refuse(None)
    queue.enqueue("demo.greet", name="ana")
    assert len(queue.jobs) == 1


def test_every_kit_built_app_records_the_jobs_it_runs(make_client: Any) -> None:
    greeted: list[str] = []

    def register_actors(ctx: Any, broker: dramatiq.Broker) -> list[Any]:
        def greet(name: str) -> None:
            greeted.append(name)

        return [declare_actor(broker, greet, name="lkt_rec.greet", queue="lkt_rec")]

    client = make_client([define_plugin("lkt_rec", register_actors=register_actors)])
    queue = job_queue_of(client)

    queue.enqueue("lkt_rec.greet", name="ana")
    drain(client)

    assert greeted == ["ana"]  # sent to the app's worker, as the real queue does
    assert queue.named("lkt_rec.greet") == [{"name": "ana"}]
    assert queue.held == []
