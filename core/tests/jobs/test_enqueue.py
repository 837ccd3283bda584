"""JobQueue: jobs are queued where a worker runs them, or refused with a clear error."""

from __future__ import annotations

import socket
import time

import pytest

from lumiku.errors import ServiceUnavailable
from lumiku.jobs import JobQueue, UnknownActorError, build_broker, declare_actor
from lumiku.testing import drain, stub_jobs


def noop(**kwargs: object) -> None:
    """Accept anything and do nothing."""


def test_an_unknown_actor_is_named_in_the_error() -> None:
    broker = build_broker(None)
    declare_actor(broker, noop, name="p.known", queue="p")

    with pytest.raises(UnknownActorError, match=r"'p\.typo'.*declared: p\.known"):
        JobQueue(broker).enqueue("p.typo")


def test_a_job_on_the_in_process_broker_without_a_worker_is_refused() -> None:
    broker = build_broker(None)
    declare_actor(broker, noop, name="p.job", queue="p")

    with pytest.raises(ServiceUnavailable, match="No in-process worker is running") as caught:
        JobQueue(broker).enqueue("p.job", x=1)

    assert caught.value.details == {"actor": "p.job", "reason": "NoWorker"}


def test_enqueue_returns_the_message_id_of_the_queued_job() -> None:
    with stub_jobs(lambda broker: declare_actor(broker, noop, name="p.job", queue="p")) as jobs:
        message_id = jobs.queue.enqueue("p.job", generation_id="g1")
        drain(jobs, fail_fast=True)

    assert jobs.queue.broker is jobs.broker
    assert len(message_id) == 36


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_redis_is_a_service_unavailable_error() -> None:
    broker = build_broker(f"redis://127.0.0.1:{_closed_port()}/0", namespace="unreachable")
    declare_actor(broker, noop, name="p.job", queue="p")
    started = time.monotonic()

    with pytest.raises(ServiceUnavailable, match=r"job 'p\.job' was not queued") as caught:
        JobQueue(broker).enqueue("p.job")
    broker.close()

    assert time.monotonic() - started < 10
    assert caught.value.details["actor"] == "p.job"
    assert caught.value.code == "SERVICE_UNAVAILABLE"
