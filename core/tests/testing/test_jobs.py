"""drain(): one way to wait for in-memory jobs, whatever runs them."""

from __future__ import annotations

from typing import Any

import dramatiq
import pytest

from lumiku import declare_actor
from lumiku.testing import define_plugin, drain, job_queue_of, runtime_of, stub_jobs


def slow_plugin(done: list[int]) -> Any:
    def register_actors(ctx: Any, broker: dramatiq.Broker) -> list[Any]:
        def work(n: int) -> None:
            if n > 0:  # a job that enqueues the next one
                ctx.jobs.enqueue("lkt_drain.work", n=n - 1)
            done.append(n)

        return [declare_actor(broker, work, name="lkt_drain.work", queue="lkt_drain")]

    return define_plugin("lkt_drain", register_actors=register_actors)


@pytest.mark.parametrize("target", ["client", "app", "runtime"])
def test_drain_waits_for_an_apps_jobs(make_client: Any, target: str) -> None:
    done: list[int] = []
    client = make_client([slow_plugin(done)])
    job_queue_of(client).enqueue("lkt_drain.work", n=3)

    drain({"client": client, "app": client.app, "runtime": runtime_of(client)}[target])

    assert done == [3, 2, 1, 0]


def test_drain_waits_for_retries_and_can_raise_the_last_failure() -> None:
    attempts: list[int] = []

    def flaky() -> None:
        attempts.append(1)
        raise LookupError("still not there")

    def declare(broker: dramatiq.Broker) -> None:
        declare_actor(broker, flaky, name="p.flaky", queue="p", max_retries=2)

    with stub_jobs(declare) as jobs:
        jobs.queue.enqueue("p.flaky")
        drain(jobs)  # quietly: the failure is a dead letter
        assert len(attempts) == 3
        assert len(jobs.dead_letters) == 1

        jobs.queue.enqueue("p.flaky")
        with pytest.raises(LookupError, match="still not there"):
            drain(jobs, fail_fast=True)


def test_drain_refuses_what_it_cannot_drain() -> None:
    with pytest.raises(TypeError, match="takes an app"):
        drain("not an app")  # type: ignore[arg-type]
