"""A held job's charge reads as its plugin describes it ("Render 'a'"), or names the work;
never the hold's id. Its 402 says what the user tried."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import dramatiq
import pytest

from lumiku.errors import InsufficientCredits
from lumiku.heldjobs import HeldJobs
from lumiku.jobs.enqueue import JobQueue
from lumiku.testing import StubJobs, drain, stub_jobs


@contextlib.contextmanager
def described(
    world: Any, describe: Callable[[Any], str] | None
) -> Iterator[tuple[HeldJobs, StubJobs]]:
    made: dict[str, HeldJobs] = {}

    def declare(broker: dramatiq.Broker) -> None:
        kind = attrs.evolve(world.kind(), describe=describe)
        held = HeldJobs(kind, world.services(JobQueue(broker)))
        held.declare(broker)
        made["held"] = held

    with stub_jobs(declare) as jobs:
        yield made["held"], jobs


def _line(world: Any, job_id: str) -> str:
    job = world.job(job_id)
    (entry,) = [e for e in world.ledger.history(job["user_id"]).entries if e.kind == "capture"]
    assert entry.reference.id == job_id
    assert job["hold_id"] not in entry.reason
    return str(entry.reason)


def test_the_charge_of_a_job_reads_as_the_plugin_describes_it(world: Any) -> None:
    user = world.user(100)
    with described(world, lambda row: f"Render {row['label']!r}") as (held, jobs):
        submitted = held.submit(world.key(user), values={"label": "Ana"}, items=2)
        drain(jobs)
    assert _line(world, submitted.job["id"]) == "Render 'Ana'"


def test_without_a_description_the_charge_names_the_work(world: Any) -> None:
    user = world.user(100)
    with described(world, None) as (held, jobs):
        submitted = held.submit(world.key(user), values={"label": "b"}, items=1)
        drain(jobs)
    assert _line(world, submitted.job["id"]) == "Lkt render"  # reference type "lkt_render"


def test_a_describer_that_raises_never_keeps_the_credits_held(
    world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(row: Any) -> str:
        raise KeyError("name")

    user = world.user(100)
    caplog.set_level(logging.ERROR)
    with described(world, broken) as (held, jobs):
        submitted = held.submit(world.key(user), values={"label": "c"}, items=1)
        drain(jobs)
    assert _line(world, submitted.job["id"]) == "Lkt render"
    assert world.balance(user) == (90, 0)
    assert "describe() failed" in caplog.text


def test_a_job_the_user_cannot_afford_says_what_was_tried(world: Any) -> None:
    user = world.user(15)
    with described(world, None) as (held, _jobs), pytest.raises(InsufficientCredits) as raised:
        held.submit(world.key(user), values={"label": "n"}, items=2, purpose="render 2 pictures")
    assert (
        raised.value.message == "Not enough credits to render 2 pictures: 20 needed, 15 available."
    )
