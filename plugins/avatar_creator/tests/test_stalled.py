"""Jobs that stall or race deletes: never a charge for nothing, never credits held for ever.

Each test drives several scenarios on one app (a fresh user each) to keep the suite fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku.images.errors import ProviderUnavailable
from lumiku.testing import RecordingJobQueue
from lumiku_avatar_creator.actors import ClaimBusy
from lumiku_avatar_creator.files import StoredImage
from lumiku_avatar_creator.models import avatar_generations, avatars
from lumiku_avatar_creator.recovery import RECOVER_ACTOR, Recovered, Recovery
from lumiku_avatar_creator.transitions import claim, find_generation

FULL = {"balance": 100, "held": 0, "available": 100}
CHARGED = {"balance": 90, "held": 0, "available": 90}


@pytest.fixture
def client(shared_app: tuple[TestClient, Any]) -> TestClient:
    """This module's tests share one app (each works with fresh users)."""
    return shared_app[0]


@pytest.fixture
def kit(shared_app: tuple[TestClient, Any]) -> Any:
    """The helpers, on the shared app's storage."""
    return shared_app[1]


@pytest.fixture
def sent(client: TestClient, kit: Any) -> Iterator[RecordingJobQueue]:
    """Hold the jobs the shared app enqueues during the test instead of running them."""
    queue: RecordingJobQueue = kit.jobs(client)
    with queue.holding_jobs():
        yield queue
    queue.clear()


def generations(queue: RecordingJobQueue) -> list[str]:
    """Return the generations whose jobs were enqueued."""
    return [job.kwargs["generation_id"] for job in queue.jobs if "generation_id" in job.kwargs]


def submit(client: TestClient, kit: Any) -> tuple[Any, str]:
    api = kit.sign_up(client)
    response = api.generate(api.project())
    assert response.status_code == 200, response.text
    return api, str(response.json()["generation"]["id"])


def row(client: TestClient, kit: Any, generation_id: str) -> Any:
    with kit.runtime(client).engine.connect() as connection:
        return find_generation(connection, generation_id)


def change(client: TestClient, kit: Any, generation_id: str, **values: Any) -> None:
    with kit.runtime(client).engine.begin() as connection:
        connection.execute(
            sa.update(avatar_generations)
            .where(avatar_generations.c.id == generation_id)
            .values(**values)
        )


def ago(delta: timedelta) -> datetime:
    return datetime.now(UTC) - delta


def test_a_redelivery_that_finds_a_live_claim_is_retried_not_dropped(
    client: TestClient, kit: Any, sent: RecordingJobQueue
) -> None:
    services = kit.services(client)
    api, generation_id = submit(client, kit)
    engine = kit.runtime(client).engine
    # The first worker claimed it and was killed; the broker redelivers long before the
    # claim's lease lapses.
    assert claim(engine, generation_id, "dead-worker", services.timing.lease)

    with pytest.raises(ClaimBusy) as busy:
        services.job.run(generation_id, attempt=0)

    lease_ms = services.timing.lease.total_seconds() * 1000
    assert busy.value.delay is not None
    assert lease_ms - 30_000 < busy.value.delay <= lease_ms + 10_000  # after the lease
    assert row(client, kit, generation_id)["status"] == "processing"
    assert api.balance()["held"] == 10

    change(client, kit, generation_id, claimed_until=ago(timedelta(seconds=1)))
    services.job.run(generation_id, attempt=1)  # the retry, once the lease lapsed

    assert row(client, kit, generation_id)["status"] == "completed"
    assert api.balance() == CHARGED


def test_deletes_racing_the_job_never_charge_for_a_failed_generation(
    client: TestClient, kit: Any, sent: RecordingJobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = kit.services(client)
    job = services.job
    settlement = job._settlement

    # 1. The project is deleted while the provider runs: the generation is failed and its
    #    hold released by the delete; the job cannot complete it, so nothing is charged.
    api, generation_id = submit(client, kit)
    project_id = row(client, kit, generation_id)["project_id"]
    files_before = kit.files()
    real_produce = job._produce

    def produce_then_delete(generation: Any, claim_id: str) -> StoredImage | None:
        stored = real_produce(generation, claim_id)
        assert api.delete(f"/projects/{project_id}").status_code == 204
        return stored

    monkeypatch.setattr(job, "_produce", produce_then_delete)
    job.run(generation_id, attempt=0)
    monkeypatch.undo()
    assert api.balance() == FULL
    assert [e["kind"] for e in api.history()] == ["welcome"]
    assert kit.files() == files_before  # the job deleted the files it stored

    # 2. The project is deleted after the generation completed, before the capture: the
    #    delete leaves the completed generation's hold alone, the capture charges once.
    api, generation_id = submit(client, kit)
    project_id = row(client, kit, generation_id)["project_id"]
    real_capture = settlement.capture

    def delete_project_then_capture(hold_id: str, amount: int) -> bool:
        assert row(client, kit, generation_id)["status"] == "completed"
        assert api.delete(f"/projects/{project_id}").status_code == 204
        return bool(real_capture(hold_id, amount))

    monkeypatch.setattr(settlement, "capture", delete_project_then_capture)
    job.run(generation_id, attempt=0)
    monkeypatch.undo()
    assert api.balance() == CHARGED
    assert [e["kind"] for e in api.history()] == ["capture", "welcome"]

    # 3. The avatar is deleted before the capture: the generation stays completed (also
    #    when read long after), charged once.
    api, generation_id = submit(client, kit)

    def delete_avatar_then_capture(hold_id: str, amount: int) -> bool:
        avatar_id = row(client, kit, generation_id)["avatar_id"]
        assert api.delete(f"/avatars/{avatar_id}").status_code == 204
        return bool(real_capture(hold_id, amount))

    monkeypatch.setattr(settlement, "capture", delete_avatar_then_capture)
    job.run(generation_id, attempt=0)
    monkeypatch.undo()
    change(client, kit, generation_id, created_at=ago(timedelta(days=2)))
    later = api.get(f"/generations/{generation_id}").json()
    assert later["status"] == "completed"
    assert later["avatar"] is None
    assert api.balance() == CHARGED


def test_deleting_the_avatar_of_an_open_generation_keeps_it_attached(
    client: TestClient, kit: Any, sent: RecordingJobQueue
) -> None:
    """An older version attached the avatar before completing; such a generation must
    keep its avatar through an avatar delete, to complete and settle."""
    services = kit.services(client)
    api, generation_id = submit(client, kit)
    engine = kit.runtime(client).engine
    assert claim(engine, generation_id, "crashed", timedelta(seconds=-1))
    generation = row(client, kit, generation_id)
    stored = StoredImage(image_key="gone.png", thumbnail_key="gone-thumb.png", width=8, height=8)
    avatar = services.job._avatar(generation, stored)
    with engine.begin() as connection:
        connection.execute(sa.insert(avatars).values(avatar))
        connection.execute(
            sa.update(avatar_generations)
            .where(avatar_generations.c.id == generation_id)
            .values(avatar_id=avatar["id"])
        )

    assert api.delete(f"/avatars/{avatar['id']}").status_code == 204
    assert row(client, kit, generation_id)["avatar_id"] == avatar["id"]

    services.job.run(generation_id, attempt=1)

    assert row(client, kit, generation_id)["status"] == "completed"
    assert api.balance() == CHARGED


def test_expiry_tells_what_became_of_the_credits_and_no_attempt_outlives_the_hold(
    client: TestClient, kit: Any, sent: RecordingJobQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = kit.services(client)
    timing = services.timing
    old = ago(timing.job_lifetime + timedelta(minutes=1))

    # 1. Read after its lifetime: failed, hold released, and the error says so.
    api, generation_id = submit(client, kit)
    change(client, kit, generation_id, created_at=old)
    body = api.get(f"/generations/{generation_id}").json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "EXPIRED"
    assert "given back" in body["error"]["message"]
    assert api.balance() == FULL

    # 2. A hold that had been captured (left by an older version): the error does not
    #    claim the credits came back.
    api, generation_id = submit(client, kit)
    services.ctx.ledger.capture(row(client, kit, generation_id)["hold_id"], 10)
    change(client, kit, generation_id, created_at=old)
    body = api.get(f"/generations/{generation_id}").json()
    assert body["status"] == "failed"
    assert "given back" not in body["error"]["message"]
    assert "charged" in body["error"]["message"]

    # 3. A message delivered after the lifetime (say, requeued late) gets no attempt.
    monkeypatch.setitem(services.ctx.image_providers, "local", None)  # would raise if called
    api, generation_id = submit(client, kit)
    change(client, kit, generation_id, created_at=old)
    services.job.run(generation_id, attempt=0)
    assert row(client, kit, generation_id)["error_code"] == "EXPIRED"
    assert api.balance() == FULL
    monkeypatch.undo()

    # 4. However many messages it got, a generation makes max_retries + 1 attempts.

    class Down:
        def generate(self, request: Any) -> Any:
            raise ProviderUnavailable("busy", provider="local", status=503)

    monkeypatch.setitem(services.ctx.image_providers, "local", Down())
    api, generation_id = submit(client, kit)
    change(client, kit, generation_id, attempts=timing.max_retries)
    services.job.run(generation_id, attempt=0)  # a fresh (requeued) message: retries 0
    assert row(client, kit, generation_id)["status"] == "failed"
    assert api.balance() == FULL

    # The hold covers an attempt that starts just before the lifetime ends.
    assert timing.hold_ttl >= timing.job_lifetime + timing.time_limit


def test_the_recovery_requeues_stalled_jobs_and_expires_dead_ones(
    client: TestClient, kit: Any, sent: RecordingJobQueue
) -> None:
    services = kit.services(client)
    timing = services.timing
    engine = kit.runtime(client).engine
    api, lapsed = submit(client, kit)
    assert claim(engine, lapsed, "dead-worker", timedelta(seconds=-1))
    _, lost = submit(client, kit)
    change(client, kit, lost, updated_at=ago(timing.stall_after + timedelta(minutes=1)))
    _, dead = submit(client, kit)
    change(client, kit, dead, created_at=ago(timing.job_lifetime + timedelta(minutes=1)))
    _, running = submit(client, kit)
    assert claim(engine, running, "alive", timing.lease)
    _, waiting = submit(client, kit)
    sent.clear()

    recovered = services.recovery.run()  # the shared app may hold other tests' rows

    assert recovered.expired >= 1
    assert recovered.requeued >= 2
    assert {lapsed, lost} <= set(generations(sent))
    assert not {dead, running, waiting} & set(generations(sent))
    assert row(client, kit, lapsed)["status"] == "pending"
    assert row(client, kit, lapsed)["claim_id"] is None
    assert row(client, kit, dead)["status"] == "failed"
    assert "given back" in row(client, kit, dead)["error_message"]
    assert row(client, kit, running)["claim_id"] == "alive"
    assert row(client, kit, waiting)["status"] == "pending"
    assert services.recovery.run() == Recovered(expired=0, requeued=0)  # once per period

    services.job.run(lapsed, attempt=0)  # the requeued message
    assert row(client, kit, lapsed)["status"] == "completed"
    assert api.balance() == CHARGED


def test_the_recovery_actor_runs_and_is_enqueued_periodically(client: TestClient, kit: Any) -> None:
    services = kit.services(client)
    recovery = services.recovery
    runtime = kit.runtime(client)
    assert recovery._task is not None  # started by the startup hook, on the app's loop
    assert not recovery._task.done()

    runtime.jobs.enqueue(RECOVER_ACTOR)  # on the in-process worker
    kit.drain(client)
    assert runtime.broker.dead_letters == []

    queue: RecordingJobQueue = kit.jobs(client)
    quick = Recovery(services.ctx, recovery._expiry, services.timing, timedelta(milliseconds=10))

    async def a_few_periods() -> None:
        await quick.start()
        await asyncio.sleep(0.2)
        await quick.stop()

    with queue.holding_jobs():
        asyncio.run(a_few_periods())
    enqueued = [job.actor_name for job in queue.held]
    queue.clear()
    assert len(enqueued) >= 2
    assert set(enqueued) == {RECOVER_ACTOR}
