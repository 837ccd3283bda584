"""build_broker, declare_actor and the job counters."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from datetime import timedelta

import dramatiq
import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Retries, TimeLimit, TimeLimitExceeded

from lumiku.jobs import (
    JobPolicy,
    JobQueue,
    JobState,
    JobStats,
    build_broker,
    declare_actor,
    job_stats,
)
from lumiku.testing import drain, stub_jobs


def noop() -> None:
    """Do nothing: an actor body for declaration tests."""


def test_without_redis_the_broker_is_an_in_process_stub() -> None:
    stats = JobStats()
    broker = build_broker(None, stats=stats)

    assert isinstance(broker, StubBroker)
    assert job_stats(broker) is stats


def test_the_policy_configures_retries_and_limits() -> None:
    policy = JobPolicy(
        max_retries=5,
        min_backoff=timedelta(seconds=1),
        max_backoff=timedelta(seconds=60),
        time_limit=timedelta(minutes=2),
        max_age=timedelta(hours=1),
    )
    broker = build_broker(None, policy=policy)
    middleware = {type(m): m for m in broker.middleware}

    retries = middleware[Retries]
    assert isinstance(retries, Retries)
    assert (retries.max_retries, retries.min_backoff, retries.max_backoff) == (5, 1000, 60000)
    time_limit = middleware[TimeLimit]
    assert isinstance(time_limit, TimeLimit)
    assert time_limit.time_limit == 120_000
    age_limit = middleware[AgeLimit]
    assert isinstance(age_limit, AgeLimit)
    assert age_limit.max_age == 3_600_000


def test_a_policy_with_backoffs_in_the_wrong_order_is_refused() -> None:
    with pytest.raises(ValueError, match="max_backoff"):
        JobPolicy(min_backoff=timedelta(minutes=1), max_backoff=timedelta(seconds=1))


def test_building_a_broker_leaves_the_global_broker_alone() -> None:
    before = dramatiq.get_broker() if dramatiq.broker.global_broker else None

    build_broker(None)

    assert dramatiq.broker.global_broker is before


def test_declare_actor_names_the_actor_and_queue_after_the_plugin() -> None:
    broker = build_broker(None)

    actor = declare_actor(
        broker,
        noop,
        name="pose_generator.generate",
        queue="pose_generator",
        max_retries=1,
        time_limit=timedelta(seconds=30),
        min_backoff=500,
    )

    assert broker.get_actor("pose_generator.generate") is actor
    assert actor.queue_name == "pose_generator"
    assert actor.options == {"max_retries": 1, "time_limit": 30_000, "min_backoff": 500}
    assert "pose_generator" in broker.get_declared_queues()


@pytest.mark.parametrize(
    ("name", "queue"),
    [
        ("generate", "pose_generator"),
        ("avatar_creator.generate", "pose_generator"),
        ("pose_generator.", "pose_generator"),
        ("Pose.generate", "Pose"),
    ],
)
def test_declare_actor_refuses_names_outside_the_convention(name: str, queue: str) -> None:
    with pytest.raises(ValueError, match="plugin id"):
        declare_actor(build_broker(None), noop, name=name, queue=queue)


def test_declare_actor_refuses_an_option_no_middleware_understands() -> None:
    with pytest.raises(ValueError, match="unknown options \\['retry_forever'\\]"):
        declare_actor(build_broker(None), noop, name="p.job", queue="p", retry_forever=True)


def test_declaring_the_same_actor_twice_is_an_error() -> None:
    broker = build_broker(None)
    declare_actor(broker, noop, name="p.job", queue="p")

    with pytest.raises(ValueError, match="already registered"):
        declare_actor(broker, noop, name="p.job", queue="p")


def test_jobs_are_counted_by_state_and_failures_logged_with_the_actor_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts: list[int] = []

    def flaky(n: int) -> None:
        attempts.append(n)
        raise RuntimeError("provider timed out")

    def declare(broker: dramatiq.Broker) -> None:
        declare_actor(broker, noop, name="p.ok", queue="p")
        declare_actor(broker, flaky, name="p.flaky", queue="p", max_retries=2)

    with caplog.at_level(logging.WARNING, logger="lumiku.jobs"), stub_jobs(declare) as jobs:
        jobs.queue.enqueue("p.ok")
        jobs.queue.enqueue("p.flaky", n=1)
        drain(jobs)

    assert attempts == [1, 1, 1]
    assert jobs.stats.snapshot() == {
        ("p", JobState.ENQUEUED): 2,
        ("p", JobState.PROCESSED): 1,
        ("p", JobState.RETRIED): 2,
        ("p", JobState.FAILED): 1,
    }
    assert jobs.stats.count(JobState.FAILED) == 1
    assert jobs.stats.count(JobState.FAILED, queue="other") == 0
    failures = [r.getMessage() for r in caplog.records if r.name == "lumiku.jobs"]
    assert sum("p.flaky" in m and "provider timed out" in m for m in failures) == 3
    assert any("p.flaky" in m and "failed for good after 3 failed attempts" in m for m in failures)


def test_the_worker_gauge_follows_workers_starting_and_stopping() -> None:
    stats = JobStats()
    broker = build_broker(None, stats=stats)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)

    worker.start()
    running = stats.workers
    worker.stop()

    assert (running, stats.workers) == (1, 0)


@pytest.mark.redis
def test_a_redis_broker_round_trip(redis_server: str, redis_namespace: str) -> None:
    namespace = redis_namespace
    broker = build_broker(redis_server, namespace=namespace)
    assert isinstance(broker, RedisBroker)
    assert broker.namespace == namespace
    received: list[str] = []
    done = threading.Event()

    def remember(text: str) -> None:
        received.append(text)
        done.set()

    declare_actor(broker, remember, name="roundtrip.remember", queue="roundtrip")
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        message_id = JobQueue(broker).enqueue("roundtrip.remember", text="hello")
        assert done.wait(10), "the job did not run"
    finally:
        worker.stop()
        broker.close()

    assert received == ["hello"]
    assert uuid.UUID(message_id)
    stats = job_stats(broker)
    assert stats is not None
    assert stats.count(JobState.PROCESSED, queue="roundtrip") == 1


def test_a_job_over_its_time_limit_is_interrupted_and_fails() -> None:
    def stuck() -> None:
        for _ in range(100):  # short sleeps: the interruption lands between them
            time.sleep(0.05)

    def declare(broker: dramatiq.Broker) -> None:
        declare_actor(
            broker,
            stuck,
            name="p.stuck",
            queue="p",
            max_retries=0,
            time_limit=timedelta(milliseconds=200),
        )

    started = time.monotonic()
    with stub_jobs(declare) as jobs:
        jobs.queue.enqueue("p.stuck")
        with pytest.raises(TimeLimitExceeded):
            drain(jobs, fail_fast=True)

    assert time.monotonic() - started < 4
    assert jobs.stats.count(JobState.FAILED) == 1


def test_an_async_actor_runs_on_the_workers_event_loop() -> None:
    results: list[int] = []

    async def double(n: int) -> None:
        await asyncio.sleep(0)
        results.append(n * 2)

    with stub_jobs(
        lambda broker: declare_actor(broker, double, name="p.double", queue="p")
    ) as jobs:
        jobs.queue.enqueue("p.double", n=21)
        drain(jobs, fail_fast=True)

    assert results == [42]
