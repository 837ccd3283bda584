"""One delivery's database work: one connection kept for it, steps after a commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.heldjobs import ClaimBusy, HeldJobs, claims
from lumiku.heldjobs.delivery import DeliveryConnection
from lumiku.heldjobs.items import job_items
from lumiku.jobs.broker import build_broker
from lumiku.jobs.enqueue import JobQueue


def _checkouts_by_thread(engine: sa.Engine) -> dict[int, int]:
    counts: dict[int, int] = {}

    def checkout(*_: Any) -> None:
        ident = threading.get_ident()
        counts[ident] = counts.get(ident, 0) + 1

    sa.event.listen(engine, "checkout", checkout)
    return counts


def test_a_delivery_checks_one_connection_out_for_its_claim_items_and_finish(
    world: Any, running: Callable[..., Any]
) -> None:
    user = world.user(100)
    threads: set[int] = set()
    for index in range(4):
        world.work.behaviours[f"item-{index}"] = lambda *_: threads.add(threading.get_ident())
    counts = _checkouts_by_thread(world.engine)
    with running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "c"}, items=4)
        counts.clear()
        kit.drain()
    job = world.job(submitted.job["id"])
    assert (job["status"], job["credits_charged"]) == ("completed", 40)
    assert world.balance(user) == (60, 0)
    (delivery_thread,) = threads
    # The claim (with the hold's read), four items, the finish and the capture: one checkout.
    assert counts[delivery_thread] == 1


def test_what_record_returns_runs_after_the_commit_and_the_progress_event(
    world: Any, running: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = world.user(100)
    seen: list[tuple[str, int, int]] = []
    real_record = world.work.record

    def record(connection: sa.Connection, job: Any, item: str, result: str) -> Any:
        real_record(connection, job, item, result)

        def after() -> None:
            # Another connection sees the item's result: its transaction committed.
            committed = len(world.results(job["id"]))
            events = world.events.names(user).count("render:progress")
            seen.append((item, committed, events))

        return after

    monkeypatch.setattr(world.work, "record", record)
    with running() as kit:
        kit.held.submit(world.key(user), values={"label": "r"}, items=2)
        kit.drain()
    assert seen == [("item-0", 1, 1), ("item-1", 2, 2)]


def test_a_failing_step_after_the_commit_is_logged_and_the_job_completes(
    world: Any,
    running: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = world.user(100)
    real_record = world.work.record

    def record(connection: sa.Connection, job: Any, item: str, result: str) -> Any:
        real_record(connection, job, item, result)

        def after() -> None:
            raise OSError("the old file could not be deleted")

        return after

    monkeypatch.setattr(world.work, "record", record)
    with caplog.at_level(logging.ERROR), running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "f"}, items=2)
        kit.drain()
    job = world.job(submitted.job["id"])
    assert (job["status"], job["items_completed"], job["credits_charged"]) == ("completed", 2, 20)
    assert world.balance(user) == (80, 0)
    assert "the step after its commit failed" in caplog.text
    assert dict(world.work.produced) == {"item-0": 1, "item-1": 1}


def test_an_item_whose_claim_was_lost_runs_no_step_after_commit(
    world: Any, running: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = world.user(100)
    ran: list[str] = []
    real_record = world.work.record

    def record(connection: sa.Connection, job: Any, item: str, result: str) -> Any:
        real_record(connection, job, item, result)
        return lambda: ran.append(item)

    def fail_job(item: str, times: int) -> None:
        del item, times
        with world.engine.begin() as connection:
            kit.held.fail_open(
                connection, sa.true(), code="PROJECT_DELETED", message="The project was deleted."
            )

    monkeypatch.setattr(world.work, "record", record)
    world.work.behaviours["item-1"] = fail_job
    with running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "l"}, items=3)
        kit.drain()
    assert ran == ["item-0"]
    assert "l:item-1" in world.work.discarded
    assert world.job(submitted.job["id"])["status"] == "partial"


@pytest.fixture
def idle(world: Any) -> HeldJobs:
    """A kit whose messages wait in an in-process queue nobody consumes."""
    broker = build_broker(None)
    held = HeldJobs(world.kind(), world.services(JobQueue(broker)))
    held.declare(broker)
    broker.emit_after("worker_boot", None)  # count a consumer, so enqueue is accepted
    return held


def test_a_delivery_of_a_job_past_its_lifetime_does_not_claim_it_and_expires_it(
    world: Any, idle: HeldJobs
) -> None:
    user = world.user(100)
    job_id = idle.submit(world.key(user), values={"label": "e"}, items=2).job["id"]
    world.clock.advance(idle.kind.limits.job_lifetime + timedelta(seconds=1))
    idle.run(job_id, retries=0)
    job = world.job(job_id)
    assert (job["status"], job["error_code"], job["attempts"]) == ("failed", "EXPIRED", 0)
    assert world.balance(user) == (100, 0)
    assert world.work.produced == {}
    assert world.events.names(user) == ["render:failed"]


def test_a_delivery_of_a_job_claimed_by_a_live_delivery_retries_after_its_lease(
    world: Any, idle: HeldJobs
) -> None:
    user = world.user(100)
    job_id = idle.submit(world.key(user), values={"label": "b"}, items=1).job["id"]
    lease = idle.kind.limits.lease
    with world.engine.begin() as connection:
        claims.claim(connection, idle.kind.table, job_id, "other", now=world.clock(), lease=lease)
    with pytest.raises(ClaimBusy) as busy:
        idle.run(job_id, retries=0)
    assert busy.value.delay is not None
    assert busy.value.delay >= lease.total_seconds() * 1000
    assert world.work.produced == {}


def test_a_step_that_fails_returns_the_connection_and_the_next_checks_out_anew(
    world: Any,
) -> None:
    counts = _checkouts_by_thread(world.engine)
    me = threading.get_ident()
    with DeliveryConnection(world.engine) as delivery:
        with delivery.read() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
        with delivery.begin() as connection:
            connection.execute(sa.text("SELECT 1"))
        assert counts[me] == 1
        with pytest.raises(sa.exc.DBAPIError), delivery.begin() as connection:
            connection.execute(sa.text("SELECT * FROM no_such_table"))
        with delivery.begin() as connection:
            assert connection.execute(sa.text("SELECT 2")).scalar_one() == 2
        assert counts[me] == 2
    assert world.engine.pool.checkedout() == 0


def test_counting_an_item_inserts_its_row_only_under_the_claim_in_one_statement_on_postgres(
    world: Any, idle: HeldJobs
) -> None:
    user = world.user(100)
    job_id = idle.submit(world.key(user), values={"label": "n"}, items=2).job["id"]
    table, lease, now = idle.kind.table, idle.kind.limits.lease, world.clock()
    statements: list[str] = []
    sa.event.listen(world.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    def row(item: str) -> dict[str, Any]:
        return {
            "job_table": table.name,
            "job_id": job_id,
            "item": item,
            "position": 0,
            "status": "completed",
            "error_code": None,
            "error_message": None,
            "started_at": now,
            "finished_at": now,
        }

    with world.engine.begin() as connection:
        claims.claim(connection, table, job_id, "mine", now=now, lease=lease)
    with world.engine.begin() as connection:
        statements.clear()
        counts = claims.count_item(
            connection, table, job_id, "mine", now=now, lease=lease, completed=True,
            insert=(job_items, row("item-0")),
        )  # fmt: skip
        assert counts == claims.Counts(1, 0, 2)
        assert len(statements) == (1 if world.engine.dialect.name == "postgresql" else 2)
    with world.engine.begin() as connection:
        lost = claims.count_item(
            connection, table, job_id, "not mine", now=now, lease=lease, completed=True,
            insert=(job_items, row("item-1")),
        )  # fmt: skip
        assert lost is None
    assert [item.item for item in idle.items(job_id)] == ["item-0"]
    assert world.job(job_id)["items_completed"] == 1
