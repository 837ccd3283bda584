"""The recovery of held jobs: dead workers, lost messages, old jobs, busy claims."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.heldjobs import ClaimBusy, HeldJobKinds, HeldJobs, claims, recover
from lumiku.heldjobs.items import job_items
from lumiku.jobs.broker import build_broker
from lumiku.jobs.enqueue import JobQueue


@pytest.fixture
def idle(world: Any) -> HeldJobs:
    """A kit whose messages wait in an in-process queue nobody consumes."""
    broker = build_broker(None)
    held = HeldJobs(world.kind(), world.services(JobQueue(broker)))
    held.declare(broker)
    broker.emit_after("worker_boot", None)  # count a consumer, so enqueue is accepted
    return held


def _die_after_first_item(world: Any, job_id: str, sample_module: Any) -> None:
    """Leave the job as a worker killed after its first item leaves it."""
    now = world.clock()
    lease = world.kind().limits.lease
    with world.engine.begin() as connection:
        assert claims.claim(
            connection, sample_module.renders, job_id, "dead-worker", now=now, lease=lease
        )
        assert claims.count_item(
            connection,
            sample_module.renders,
            job_id,
            "dead-worker",
            now=now,
            lease=lease,
            completed=True,
        )
        connection.execute(
            job_items.insert().values(
                job_table="lkt_renders",
                job_id=job_id,
                item="item-0",
                position=0,
                status="completed",
                started_at=now,
                finished_at=now,
            )
        )
        connection.execute(
            sa.insert(sample_module.render_results).values(
                job_id=job_id, item="item-0", value="made before the kill"
            )
        )


def test_a_job_whose_worker_died_is_taken_over_once_its_lease_runs_out(
    world: Any, idle: HeldJobs, sample_module: Any
) -> None:
    user = world.user(100)
    submitted = idle.submit(world.key(user), values={"label": "k"}, items=3)
    job_id = submitted.job["id"]
    _die_after_first_item(world, job_id, sample_module)
    with pytest.raises(ClaimBusy):  # a redelivery while the lease holds waits it out
        idle.run(job_id, retries=0)
    assert recover(idle.kind, idle._services).requeued == 0
    world.clock.advance(idle.kind.limits.lease + timedelta(seconds=1))
    assert recover(idle.kind, idle._services).requeued == 1
    idle.run(job_id, retries=0)  # the message the recovery queued
    job = world.job(job_id)
    assert (job["status"], job["requeues"], job["credits_charged"]) == ("completed", 1, 30)
    assert world.work.produced["item-0"] == 0  # finished before the kill: not made again
    assert world.results(job_id)["item-0"] == "made before the kill"
    assert world.balance(user) == (70, 0)


def test_a_job_that_keeps_stalling_keeps_what_it_did_and_releases_the_rest(
    world: Any, idle: HeldJobs, sample_module: Any
) -> None:
    user = world.user(100)
    submitted = idle.submit(world.key(user), values={"label": "s"}, items=3)
    job_id = submitted.job["id"]
    _die_after_first_item(world, job_id, sample_module)
    with world.engine.begin() as connection:
        connection.execute(
            sa.update(sample_module.renders)
            .where(sample_module.renders.c.id == job_id)
            .values(requeues=idle.kind.limits.max_requeues)
        )
    world.clock.advance(idle.kind.limits.lease + timedelta(seconds=1))
    assert recover(idle.kind, idle._services).stalled == 1
    job = world.job(job_id)
    assert (job["status"], job["error_code"], job["credits_charged"]) == ("partial", "STALLED", 10)
    assert world.balance(user) == (90, 0)
    assert world.events.names(user)[-1] == "render:completed"


def test_a_pending_job_whose_message_was_lost_is_queued_again(
    world: Any, running: Callable[..., Any]
) -> None:
    user = world.user(100)
    with running() as kit:
        kit.jobs.worker.pause()
        submitted = kit.held.submit(world.key(user), values={"label": "l"}, items=2)
        job_id = submitted.job["id"]
        for queue in kit.jobs.broker.get_declared_queues():
            kit.jobs.broker.flush(queue)
        world.markers.discard(kit.held.actor_name, job_id)  # as a Redis restart would
        kit.jobs.worker.resume()
        limits = kit.held.kind.limits
        assert recover(kit.held.kind, kit.held._services).lost == 0
        world.clock.advance(limits.lost_after + timedelta(seconds=1))
        assert recover(kit.held.kind, kit.held._services).lost == 1
        assert recover(kit.held.kind, kit.held._services).lost == 0
        kit.drain()
    assert world.job(job_id)["status"] == "completed"
    assert world.balance(user) == (80, 0)


def test_a_quiet_pending_job_with_its_message_queued_is_left_alone_until_it_stalls(
    world: Any, idle: HeldJobs
) -> None:
    user = world.user(100)
    job_id = idle.submit(world.key(user), values={"label": "w"}, items=1).job["id"]
    limits = idle.kind.limits
    world.clock.advance(limits.lost_after + timedelta(seconds=1))
    assert recover(idle.kind, idle._services).lost == 0
    world.clock.advance(limits.stall_after)
    assert recover(idle.kind, idle._services).lost == 1
    assert world.job(job_id)["status"] == "pending"


def test_a_job_past_its_lifetime_is_finished_with_what_it_did(
    world: Any, idle: HeldJobs, sample_module: Any
) -> None:
    user = world.user(100)
    job_id = idle.submit(world.key(user), values={"label": "o"}, items=2).job["id"]
    world.clock.advance(idle.kind.limits.job_lifetime + timedelta(seconds=1))
    assert recover(idle.kind, idle._services).expired == 1
    job = world.job(job_id)
    assert (job["status"], job["error_code"]) == ("failed", "EXPIRED")
    assert world.balance(user) == (100, 0)
    idle.run(job_id, retries=0)  # its message, delivered late, changes nothing
    assert world.work.produced == {}


def test_a_job_whose_hold_was_given_back_fails_without_working(world: Any, idle: HeldJobs) -> None:
    user = world.user(100)
    submitted = idle.submit(world.key(user), values={"label": "h"}, items=2)
    assert submitted.hold is not None
    world.ledger.release(submitted.hold.id)
    idle.run(submitted.job["id"], retries=0)
    job = world.job(submitted.job["id"])
    assert (job["status"], job["error_code"], job["credits_charged"]) == (
        "failed",
        "HOLD_EXPIRED",
        0,
    )
    assert world.work.produced == {}
    assert world.balance(user) == (100, 0)


def test_a_second_delivery_of_a_running_job_retries_after_the_lease(
    world: Any, idle: HeldJobs
) -> None:
    user = world.user(100)
    job_id = idle.submit(world.key(user), values={"label": "b"}, items=1).job["id"]
    with world.engine.begin() as connection:
        claims.claim(
            connection,
            idle.kind.table,
            job_id,
            "other",
            now=world.clock(),
            lease=idle.kind.limits.lease,
        )
    with pytest.raises(ClaimBusy) as busy:
        idle.run(job_id, retries=0)
    lease_ms = idle.kind.limits.lease.total_seconds() * 1000
    assert busy.value.delay is not None
    assert lease_ms < busy.value.delay <= lease_ms + 6000


def test_the_recovery_schedule_covers_every_registered_kind(world: Any, idle: HeldJobs) -> None:
    kinds = HeldJobKinds()
    kinds.add(idle.kind, idle._services)
    user = world.user(100)
    idle.submit(world.key(user), values={"label": "r"}, items=1)
    world.clock.advance(idle.kind.limits.job_lifetime + timedelta(seconds=1))
    schedule = kinds.schedule()
    assert (schedule.name, schedule.every) == ("recover_held_jobs", timedelta(seconds=15))
    assert kinds.recover().expired == 1
