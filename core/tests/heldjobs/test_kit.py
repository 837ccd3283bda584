"""Held jobs on an in-process broker: submit, items, partial capture, retries, redelivery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.errors import InsufficientCredits
from lumiku.heldjobs import QueueUnavailable


def test_a_job_holds_runs_every_item_once_and_captures_exactly(
    world: Any, running: Callable[..., Any]
) -> None:
    user = world.user(100)
    with running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "a"}, items=3)
        assert submitted.credits_held == 30
        assert submitted.credits_available == 70
        kit.drain()
    job = world.job(submitted.job["id"])
    assert (job["status"], job["items_completed"], job["items_failed"]) == ("completed", 3, 0)
    assert job["credits_charged"] == 30
    assert job["started_at"] is not None
    assert job["finished_at"] >= job["started_at"]
    assert world.balance(user) == (70, 0)
    assert world.results(job["id"]) == {f"item-{i}": f"a:item-{i}" for i in range(3)}
    assert dict(world.work.produced) == {"item-0": 1, "item-1": 1, "item-2": 1}
    items = kit.held.items(job["id"])
    assert [(i.item, i.status) for i in items] == [(f"item-{n}", "completed") for n in range(3)]
    assert all(i.finished_at >= i.started_at for i in items)
    assert world.events.names(user) == [
        "render:started",
        "render:progress",
        "render:progress",
        "render:progress",
        "render:completed",
    ]
    last_progress = [e for e in world.events.sent if e[1] == "render:progress"][-1][2]
    assert last_progress == {
        "renderId": job["id"],
        "completed": 3,
        "failed": 0,
        "total": 3,
        "percentage": 100,
    }
    assert all(namespace == "/lkt" for *_, namespace in world.events.sent)


def test_items_that_fail_for_good_are_released_and_the_rest_captured(
    world: Any, running: Callable[..., Any], sample_module: Any
) -> None:
    user = world.user(100)
    world.work.behaviours["item-1"] = sample_module.fail_for_good("NO_FACE")
    with running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "p"}, items=3)
        kit.drain()
    job = world.job(submitted.job["id"])
    assert (job["status"], job["items_completed"], job["items_failed"]) == ("partial", 2, 1)
    assert (job["credits_charged"], job["error_code"]) == (20, "NO_FACE")
    assert world.balance(user) == (80, 0)
    assert set(world.results(job["id"])) == {"item-0", "item-2"}
    failed = [i for i in kit.held.items(job["id"]) if i.status == "failed"]
    assert [(i.item, i.error_code) for i in failed] == [("item-1", "NO_FACE")]


def test_a_job_whose_every_item_fails_releases_the_whole_hold(
    world: Any, running: Callable[..., Any], sample_module: Any
) -> None:
    user = world.user(100)
    world.work.behaviours = {f"item-{i}": sample_module.fail_for_good() for i in range(2)}
    with running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "f"}, items=2)
        kit.drain()
    job = world.job(submitted.job["id"])
    assert (job["status"], job["credits_charged"], job["error_code"]) == ("failed", 0, "BAD_ITEM")
    assert world.balance(user) == (100, 0)
    assert world.events.names(user)[-1] == "render:failed"
    final = world.events.sent[-1][2]
    assert final["error"] == {"code": "BAD_ITEM", "message": "item-1 cannot be made"}


def test_a_transient_error_is_retried_without_redoing_finished_items(
    world: Any, running: Callable[..., Any], sample_module: Any
) -> None:
    user = world.user(100)
    world.work.behaviours["item-2"] = sample_module.fail_times(2)
    with running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "r"}, items=4)
        kit.drain()
    job = world.job(submitted.job["id"])
    assert (job["status"], job["credits_charged"], job["attempts"]) == ("completed", 40, 3)
    assert dict(world.work.produced) == {"item-0": 1, "item-1": 1, "item-2": 3, "item-3": 1}
    assert world.balance(user) == (60, 0)
    assert world.events.names(user).count("render:started") == 1


def test_a_transient_error_on_the_last_attempt_fails_the_item(
    world: Any, running: Callable[..., Any], sample_module: Any
) -> None:
    user = world.user(100)
    world.work.behaviours["item-0"] = sample_module.fail_times(99)
    with running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "x"}, items=2)
        kit.drain()
    job = world.job(submitted.job["id"])
    assert (job["status"], job["items_failed"], job["error_code"]) == (
        "partial",
        1,
        "INTERNAL_ERROR",
    )
    assert world.work.produced["item-0"] == 3  # the first try and max_retries=2 retries
    assert world.balance(user) == (90, 0)


def test_a_redelivered_message_changes_nothing(world: Any, running: Callable[..., Any]) -> None:
    user = world.user(100)
    with running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "d"}, items=2)
        kit.drain()
        job_id = submitted.job["id"]
        kit.held.run(job_id, retries=0)  # a late duplicate of the same message
        kit.jobs.queue.enqueue(kit.held.actor_name, job_id=job_id)
        kit.drain()
    assert dict(world.work.produced) == {"item-0": 1, "item-1": 1}
    assert world.balance(user) == (80, 0)
    assert world.job(job_id)["attempts"] == 1


def test_a_retried_submit_with_the_same_key_and_attempt_makes_one_job(
    world: Any, running: Callable[..., Any]
) -> None:
    user = world.user(100)
    with running() as kit:
        first = kit.held.submit(world.key(user, "k-1"), values={"label": "i"}, items=2)
        again = kit.held.submit(world.key(user, "k-1"), values={"label": "i"}, items=2)
        other = kit.held.submit(world.key(user, "k-2"), values={"label": "i"}, items=1)
        kit.drain()
    assert again.replayed
    assert again.job["id"] == first.job["id"]
    assert other.job["id"] != first.job["id"]
    assert world.balance(user) == (70, 0)


def test_a_crash_between_hold_and_insert_is_retried_on_the_same_hold(
    world: Any, running: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = world.user(100)
    with running() as kit:
        services = kit.held._services
        real_row = kit.held._row

        def crash(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("SIGKILL stand-in: the process dies here")

        monkeypatch.setattr(kit.held, "_row", crash)
        monkeypatch.setattr(services.charges, "release", lambda *a: False)  # nothing runs after
        key = world.key(user, "k")
        with pytest.raises(RuntimeError):
            kit.held.submit(key, values={"label": "c"}, items=2)
        assert world.balance(user) == (100, 20)  # the hold of the dead request stands
        assert key.open_charges == 1
        monkeypatch.setattr(kit.held, "_row", real_row)
        retried = kit.held.submit(world.key(user, "k"), values={"label": "c"}, items=2)
        kit.drain()
    assert world.job(retried.job["id"])["status"] == "completed"
    assert world.balance(user) == (80, 0)  # one hold, captured once


def test_a_user_who_cannot_afford_the_job_gets_402_and_no_job(
    world: Any, running: Callable[..., Any]
) -> None:
    user = world.user(15)
    with running() as kit, pytest.raises(InsufficientCredits):
        kit.held.submit(world.key(user), values={"label": "n"}, items=2)
    with world.engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(_renders())).scalar()
    assert count == 0
    assert world.balance(user) == (15, 0)


def test_a_failed_insert_releases_the_hold(world: Any, running: Callable[..., Any]) -> None:
    user = world.user(100)
    with running() as kit, pytest.raises(sa.exc.IntegrityError):
        kit.held.submit(world.key(user), values={"label": None}, items=1)
    assert world.balance(user) == (100, 0)


def test_a_queue_that_refuses_the_job_fails_it_and_releases_the_hold(
    world: Any, running: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    user = world.user(100)
    key = world.key(user, "q")
    with running() as kit:

        def refuse(*args: Any, **kwargs: Any) -> str:
            raise ConnectionError("redis is down")

        monkeypatch.setattr(kit.jobs.queue, "enqueue", refuse)
        monkeypatch.setattr(kit.held._services.queue, "enqueue", refuse)
        with pytest.raises(QueueUnavailable):
            kit.held.submit(key, values={"label": "q"}, items=2)
    assert world.balance(user) == (100, 0)
    assert key.open_charges == 0  # the retry may run as a new attempt
    with world.engine.connect() as connection:
        row = connection.execute(sa.select(_renders())).mappings().one()
    assert (row["status"], row["error_code"]) == ("failed", "QUEUE_UNAVAILABLE")


def test_jobs_failed_by_a_delete_keep_their_items_and_cannot_finish(
    world: Any, running: Callable[..., Any]
) -> None:
    user = world.user(100)
    with running() as kit:
        kept = kit.held.submit(world.key(user), values={"label": "keep"}, items=2)
        kit.drain()
        stopped = {}

        def delete_the_project(item: str, times: int) -> None:
            # While item-1 is being made, the project of the job is deleted.
            with world.engine.begin() as connection:
                stopped["failed"] = kit.held.fail_open(
                    connection,
                    _renders().c.label == "gone",
                    code="PROJECT_DELETED",
                    message="The project was deleted.",
                )

        world.work.behaviours["item-1"] = delete_the_project
        gone = kit.held.submit(world.key(user), values={"label": "gone"}, items=3)
        kit.drain()
        kit.held.settle_failed(stopped["failed"])
    job = world.job(gone.job["id"])
    assert (job["status"], job["items_completed"], job["error_code"]) == (
        "partial",
        1,
        "PROJECT_DELETED",
    )
    assert "gone:item-1" in world.work.discarded
    assert world.balance(user) == (70, 0)  # 2 items of the first job, 1 of the second
    assert world.job(kept.job["id"])["status"] == "completed"


def _renders() -> Any:
    from lumiku.heldjobs import JobKind  # noqa: F401  (the kind's table is the sample's)

    return __import__("lkt_heldjobs_sample").renders


def test_the_final_status_and_the_charge_commit_together(
    world: Any, running: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader never sees a job finished with its credits still held, nor the reverse."""
    user = world.user(100)
    real_capture = world.ledger.capture
    seen: list[str] = []
    failures = [RuntimeError("the database went away mid-finish")]

    def capture(hold_id: str, amount: int | None = None, **kwargs: Any) -> Any:
        connection = kwargs.get("connection")
        assert connection is not None  # in the finishing transaction
        seen.append(connection.execute(sa.text("SELECT status FROM lkt_renders")).scalar_one())
        if failures:
            raise failures.pop()
        return real_capture(hold_id, amount, **kwargs)

    monkeypatch.setattr(world.ledger, "capture", capture)
    with running() as kit:
        submitted = kit.held.submit(world.key(user), values={"label": "t"}, items=2)
        job_id = submitted.job["id"]
        # The first finish fails with nothing written: the claim is given back, so Dramatiq's
        # retry finishes the job at once (without waiting for the lease, without redoing items).
        kit.drain()
    assert seen == ["completed", "completed"]  # the status, as the capture's transaction sees it
    job = world.job(job_id)
    assert (job["status"], job["credits_charged"], job["attempts"]) == ("completed", 20, 2)
    assert world.balance(user) == (80, 0)
    assert dict(world.work.produced) == {"item-0": 1, "item-1": 1}
