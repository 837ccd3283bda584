"""The generation job's guarantees, exercised on the app's own services and database.

The job runs on the core's held-jobs kit; these tests check what the plugin's part of it
(the avatar made, recorded and charged once) looks like through the kit.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku.heldjobs import claims
from lumiku_avatar_creator.models import avatar_generations

FULL = {"balance": 100, "held": 0, "available": 100}
CHARGED = {"balance": 90, "held": 0, "available": 90}


@pytest.fixture
def held(client: TestClient, kit: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Submit a generation whose job is not queued, so each test runs it by hand."""
    sent: list[str] = []

    def keep(actor: str, /, **kwargs: Any) -> str:
        sent.append(kwargs["job_id"])
        return "kept"

    monkeypatch.setattr(kit.runtime(client).jobs, "enqueue", keep)
    api = kit.sign_up(client)
    generation_id = api.generate(api.project()).json()["generation"]["id"]
    assert sent == [generation_id]
    return api, generation_id


def row(client: TestClient, kit: Any, generation_id: str) -> Any:
    return kit.services(client).jobs.get(generation_id)


def test_a_generation_whose_hold_was_released_fails_without_calling_the_provider(
    client: TestClient, kit: Any, held: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, generation_id = held
    services = kit.services(client)
    services.ctx.ledger.release(row(client, kit, generation_id)["hold_id"])
    monkeypatch.setitem(services.ctx.image_providers, "local", None)  # would raise if called

    services.jobs.run(generation_id, retries=0)

    failed = row(client, kit, generation_id)
    assert failed["status"] == "failed"
    assert failed["error_code"] == "HOLD_EXPIRED"
    assert api.balance() == FULL


def test_a_crash_between_the_avatar_and_the_capture_is_settled_by_a_redelivery(
    client: TestClient, kit: Any, held: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, generation_id = held
    services = kit.services(client)

    def crash(hold_id: str, amount: int, **_: Any) -> Any:
        raise RuntimeError("worker died")

    monkeypatch.setattr(services.ctx.ledger, "capture", crash)
    with pytest.raises(RuntimeError):
        services.jobs.run(generation_id, retries=0)
    crashed = row(client, kit, generation_id)
    # The avatar was made; finishing and charging failed together, and the claim is back.
    assert crashed["status"] == "pending"
    assert crashed["avatar_id"] is not None
    assert api.balance()["held"] == 10
    monkeypatch.undo()
    providers = services.ctx.image_providers
    monkeypatch.setitem(providers, "local", None)  # the retry must not generate again

    services.jobs.run(generation_id, retries=1)  # the retry
    services.jobs.run(generation_id, retries=1)  # and a duplicate of it

    assert row(client, kit, generation_id)["status"] == "completed"
    assert api.balance() == CHARGED
    assert len(api.get("/avatars").json()["avatars"]) == 1


def test_a_lapsed_claim_is_taken_over_and_the_stale_attempt_cannot_finish(
    client: TestClient, kit: Any, held: Any
) -> None:
    api, generation_id = held
    services = kit.services(client)
    engine = kit.runtime(client).engine
    now = datetime.now(UTC)
    with engine.begin() as connection:  # a worker that crashed holding the claim
        assert claims.claim(
            connection,
            avatar_generations,
            generation_id,
            "stale",
            now=now,
            lease=timedelta(seconds=-1),
        )

    services.jobs.run(generation_id, retries=0)

    done = row(client, kit, generation_id)
    assert done["status"] == "completed"
    assert done["attempts"] == 2
    assert api.balance() == CHARGED
    with engine.begin() as connection:
        assert not claims.count_item(
            connection,
            avatar_generations,
            generation_id,
            "stale",
            now=now,
            lease=timedelta(minutes=1),
            completed=True,
        )


def test_a_generation_past_its_lifetime_is_failed_by_the_recovery_and_its_hold_released(
    client: TestClient, kit: Any, held: Any
) -> None:
    api, generation_id = held
    long_ago = datetime.now(UTC) - timedelta(days=2)
    with kit.runtime(client).engine.begin() as connection:
        connection.execute(
            sa.update(avatar_generations)
            .where(avatar_generations.c.id == generation_id)
            .values(created_at=long_ago)
        )

    kit.runtime(client).held_job_kinds.recover()

    response = api.get(f"/generations/{generation_id}").json()
    assert response["status"] == "failed"
    assert response["error"]["code"] == "EXPIRED"
    assert api.balance() == FULL


def test_the_hold_outlives_every_attempt_of_the_job(client: TestClient, kit: Any) -> None:
    limits = kit.services(client).jobs.kind.limits

    attempts = (limits.max_retries + 1) * limits.time_limit
    assert limits.job_lifetime >= limits.max_queue_age + attempts
    assert limits.hold_ttl > limits.job_lifetime + limits.time_limit  # the last attempt too
    assert limits.heartbeat < limits.lease  # a live worker renews its claim in time


def test_a_generation_that_no_longer_exists_is_skipped(
    client: TestClient, kit: Any, caplog: pytest.LogCaptureFixture
) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    before = {table: kit.count_rows(client, table) for table in ("avatars", "job_items")}

    with caplog.at_level(logging.WARNING):
        kit.services(client).jobs.run(missing, retries=0)

    assert f"job {missing} no longer exists" in caplog.text
    assert {table: kit.count_rows(client, table) for table in before} == before
