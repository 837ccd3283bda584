"""Jobs that stall or race deletes: never a charge for nothing, never credits held for ever.

Each test drives several scenarios on one app (a fresh user each) to keep the suite fast.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku.heldjobs import ClaimBusy, claims
from lumiku_avatar_creator.models import avatar_generations

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


class Sent:
    """Keeps the jobs the app enqueues instead of running them."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, actor: str, /, **kwargs: Any) -> str:
        self.jobs.append((actor, kwargs))
        return "kept"

    def generations(self) -> list[str]:
        return [kw["job_id"] for actor, kw in self.jobs if "job_id" in kw]


@pytest.fixture
def sent(client: TestClient, kit: Any, monkeypatch: pytest.MonkeyPatch) -> Sent:
    keeper = Sent()
    monkeypatch.setattr(kit.runtime(client).jobs, "enqueue", keeper)
    return keeper


def submit(client: TestClient, kit: Any) -> tuple[Any, str]:
    api = kit.sign_up(client)
    response = api.generate(api.project())
    assert response.status_code in (200, 202), response.text
    return api, str(response.json()["generation"]["id"])


def row(client: TestClient, kit: Any, generation_id: str) -> Any:
    return kit.services(client).jobs.get(generation_id)


def claim(client: TestClient, kit: Any, generation_id: str, claim_id: str, lease: Any) -> bool:
    with kit.runtime(client).engine.begin() as connection:
        return claims.claim(
            connection,
            avatar_generations,
            generation_id,
            claim_id,
            now=datetime.now(UTC),
            lease=lease,
        )


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
    client: TestClient, kit: Any, sent: Sent
) -> None:
    services = kit.services(client)
    api, generation_id = submit(client, kit)
    lease = services.jobs.kind.limits.lease
    # The first worker claimed it and was killed; the broker redelivers before the lease
    # lapses.
    assert claim(client, kit, generation_id, "dead-worker", lease)

    with pytest.raises(ClaimBusy) as busy:
        services.jobs.run(generation_id, retries=0)

    lease_ms = lease.total_seconds() * 1000
    assert busy.value.delay is not None
    assert lease_ms - 30_000 < busy.value.delay <= lease_ms + 10_000  # after the lease
    assert row(client, kit, generation_id)["status"] == "processing"
    assert api.balance()["held"] == 10

    change(client, kit, generation_id, lease_expires_at=ago(timedelta(seconds=1)))
    services.jobs.run(generation_id, retries=1)  # the retry, once the lease lapsed

    assert row(client, kit, generation_id)["status"] == "completed"
    assert api.balance() == CHARGED


def test_deletes_racing_the_job_never_charge_for_a_failed_generation(
    client: TestClient, kit: Any, sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = kit.services(client)
    jobs = services.jobs
    work = jobs.kind.work

    # 1. The project is deleted while the provider runs: the generation is failed and its
    #    hold released by the delete; the job cannot complete it, so nothing is charged.
    api, generation_id = submit(client, kit)
    project_id = row(client, kit, generation_id)["project_id"]
    files_before = kit.files()
    real_produce = work.produce

    def produce_then_delete(generation: Any, item: str) -> Any:
        stored = real_produce(generation, item)
        assert api.delete(f"/projects/{project_id}").status_code == 204
        return stored

    monkeypatch.setattr(work, "produce", produce_then_delete)
    jobs.run(generation_id, retries=0)
    monkeypatch.undo()
    assert api.balance() == FULL
    assert [e["kind"] for e in api.history()] == ["welcome"]
    assert kit.files() == files_before  # the job deleted the files it stored

    # 2. The project is deleted once the generation completed: the completed generation was
    #    charged in the same transaction that finished it, and the delete leaves it so.
    #    (There is no window between completing and charging for a delete to fall into.)
    monkeypatch.setattr(kit.runtime(client).jobs, "enqueue", sent)
    api, generation_id = submit(client, kit)
    project_id = row(client, kit, generation_id)["project_id"]
    jobs.run(generation_id, retries=0)
    monkeypatch.undo()
    assert row(client, kit, generation_id)["status"] == "completed"
    assert api.balance() == CHARGED
    assert api.delete(f"/projects/{project_id}").status_code == 204
    assert api.balance() == CHARGED
    assert [e["kind"] for e in api.history()] == ["capture", "welcome"]

    # 3. The avatar is deleted after that: the generation stays completed, charged once (the
    #    user made the avatar, then deleted it).
    monkeypatch.setattr(kit.runtime(client).jobs, "enqueue", sent)
    api, generation_id = submit(client, kit)
    jobs.run(generation_id, retries=0)
    monkeypatch.undo()
    avatar_id = row(client, kit, generation_id)["avatar_id"]
    assert api.delete(f"/avatars/{avatar_id}").status_code == 204
    later = api.get(f"/generations/{generation_id}").json()
    assert later["status"] == "completed"
    assert later["avatar"] is None
    assert api.balance() == CHARGED


def test_expiry_says_the_credits_came_back_and_no_attempt_outlives_the_hold(
    client: TestClient, kit: Any, sent: Sent, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = kit.services(client)
    limits = services.jobs.kind.limits
    old = ago(limits.job_lifetime + timedelta(minutes=1))

    # 1. Found by the recovery after its lifetime: failed, hold released, and it says so.
    api, generation_id = submit(client, kit)
    change(client, kit, generation_id, created_at=old)
    kit.runtime(client).held_job_kinds.recover()
    body = api.get(f"/generations/{generation_id}").json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "EXPIRED"
    assert "given back" in body["error"]["message"]
    assert api.balance() == FULL

    # 2. A message delivered after the lifetime (say, requeued late) gets no attempt.
    monkeypatch.setitem(services.ctx.image_providers, "local", None)  # would raise if called
    api, generation_id = submit(client, kit)
    change(client, kit, generation_id, created_at=old)
    services.jobs.run(generation_id, retries=0)
    assert row(client, kit, generation_id)["error_code"] == "EXPIRED"
    assert api.balance() == FULL

    # The hold covers an attempt that starts just before the lifetime ends.
    assert limits.hold_ttl >= limits.job_lifetime + limits.time_limit


def test_the_recovery_requeues_stalled_jobs_and_expires_dead_ones(
    client: TestClient, kit: Any, sent: Sent
) -> None:
    services = kit.services(client)
    limits = services.jobs.kind.limits
    api, lapsed = submit(client, kit)
    assert claim(client, kit, lapsed, "dead-worker", timedelta(seconds=-1))
    _, lost = submit(client, kit)
    change(client, kit, lost, updated_at=ago(limits.stall_after + timedelta(minutes=1)))
    _, dead = submit(client, kit)
    change(client, kit, dead, created_at=ago(limits.job_lifetime + timedelta(minutes=1)))
    _, running = submit(client, kit)
    assert claim(client, kit, running, "alive", limits.lease)
    _, waiting = submit(client, kit)
    sent.jobs.clear()
    kinds = kit.runtime(client).held_job_kinds

    recovered = kinds.recover()  # the shared app may hold other tests' rows

    assert recovered.expired >= 1
    assert recovered.requeued + recovered.lost >= 2
    assert {lapsed, lost} <= set(sent.generations())
    assert not {dead, running, waiting} & set(sent.generations())
    assert row(client, kit, lapsed)["status"] == "pending"
    assert row(client, kit, lapsed)["claim_id"] is None
    assert row(client, kit, lapsed)["requeues"] == 1
    assert row(client, kit, dead)["status"] == "failed"
    assert "given back" in row(client, kit, dead)["error_message"]
    assert row(client, kit, running)["claim_id"] == "alive"
    assert row(client, kit, waiting)["status"] == "pending"
    sent.jobs.clear()
    kinds.recover()
    assert not {lapsed, lost, dead, running, waiting} & set(sent.generations())  # once

    services.jobs.run(lapsed, retries=0)  # the requeued message
    assert row(client, kit, lapsed)["status"] == "completed"
    assert api.balance() == CHARGED


def test_the_core_recovery_schedule_covers_the_generations(client: TestClient, kit: Any) -> None:
    runtime = kit.runtime(client)
    every = {item.actor_name: item.every for item in runtime.schedules}
    assert every["core.recover_held_jobs"] == timedelta(seconds=15)
    assert "avatar_creator.generate" in [k.actor_name for k, _ in runtime.held_job_kinds.kinds()]

    runtime.jobs.enqueue("core.recover_held_jobs")  # on the in-process worker
    kit.drain(client)
    assert runtime.broker.dead_letters == []
