"""The generation job's guarantees, exercised on the app's own services and database."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku.jobs.broker import job_stats
from lumiku.jobs.stats import JobState
from lumiku_avatar_creator.generations import GENERATE_ACTOR
from lumiku_avatar_creator.models import avatar_generations
from lumiku_avatar_creator.transitions import claim, find_generation


@pytest.fixture
def held(client: TestClient, kit: Any) -> Any:
    """Submit a generation whose job is held, not run, so each test runs it by hand."""
    queue = kit.jobs(client)
    queue.hold()
    api = kit.sign_up(client)
    generation_id = api.generate(api.project()).json()["generation"]["id"]
    assert queue.named("avatar_creator.generate") == [{"generation_id": generation_id}]
    return api, generation_id


def row(client: TestClient, kit: Any, generation_id: str) -> Any:
    with kit.runtime(client).engine.connect() as connection:
        return find_generation(connection, generation_id)


def test_a_generation_whose_hold_was_released_fails_without_calling_the_provider(
    client: TestClient, kit: Any, held: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, generation_id = held
    services = kit.services(client)
    services.ctx.ledger.release(row(client, kit, generation_id)["hold_id"])
    monkeypatch.setitem(services.ctx.image_providers, "local", None)  # would raise if called

    services.job.run(generation_id, attempt=0)

    failed = row(client, kit, generation_id)
    assert failed["status"] == "failed"
    assert failed["error_code"] == "HOLD_EXPIRED"
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}


def test_a_crash_between_the_avatar_and_the_capture_is_settled_by_a_redelivery(
    client: TestClient, kit: Any, held: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api, generation_id = held
    services = kit.services(client)
    settlement = services.job._settlement

    def crash(hold_id: str, amount: int) -> bool:
        raise RuntimeError("worker died")

    monkeypatch.setattr(settlement, "capture", crash)
    with pytest.raises(RuntimeError):
        services.job.run(generation_id, attempt=0)
    crashed = row(client, kit, generation_id)
    assert crashed["status"] == "completed"  # completed (with its avatar) before the charge
    assert crashed["avatar_id"] is not None
    assert api.balance()["held"] == 10
    monkeypatch.undo()
    providers = services.ctx.image_providers
    monkeypatch.setitem(providers, "local", None)  # the retry must not generate again

    services.job.run(generation_id, attempt=1)  # the retry
    services.job.run(generation_id, attempt=1)  # and a duplicate of it

    assert row(client, kit, generation_id)["status"] == "completed"
    assert api.balance() == {"balance": 90, "held": 0, "available": 90}
    assert len(api.get("/avatars").json()["avatars"]) == 1


def test_a_lapsed_claim_is_taken_over_and_the_stale_attempt_cannot_finish(
    client: TestClient, kit: Any, held: Any
) -> None:
    api, generation_id = held
    services = kit.services(client)
    engine = kit.runtime(client).engine
    assert claim(engine, generation_id, "stale", timedelta(seconds=-1))  # crashed worker

    services.job.run(generation_id, attempt=0)

    done = row(client, kit, generation_id)
    assert done["status"] == "completed"
    assert done["attempts"] == 2
    assert api.balance() == {"balance": 90, "held": 0, "available": 90}
    assert not claim(engine, generation_id, "late", timedelta(minutes=5))


def test_a_generation_past_its_lifetime_is_failed_when_read_and_its_hold_released(
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

    response = api.get(f"/generations/{generation_id}").json()

    assert response["status"] == "failed"
    assert response["error"]["code"] == "EXPIRED"
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}


def test_the_hold_outlives_every_attempt_of_the_job(client: TestClient, kit: Any) -> None:
    timing = kit.services(client).timing

    attempts = (timing.max_retries + 1) * timing.time_limit
    assert timing.job_lifetime >= timing.max_queue_age + attempts
    assert timing.hold_ttl > timing.job_lifetime + timing.time_limit  # the last attempt too
    assert timing.lease > timing.time_limit


TABLES = ("avatar_generations", "avatars", "avatar_usage_history", "credit_entries", "credit_holds")


def test_a_generation_that_no_longer_exists_is_skipped(
    client: TestClient, kit: Any, caplog: pytest.LogCaptureFixture
) -> None:
    api = kit.sign_up(client)
    api.generate(api.project())  # another generation, which must stay as it is
    kit.drain(client)
    runtime = kit.runtime(client)
    rows = {table: kit.count_rows(client, table) for table in TABLES}
    files = kit.files()
    queue = kit.jobs(client)
    jobs = len(queue.jobs)
    stats = job_stats(runtime.broker)
    assert stats is not None
    processed = stats.count(JobState.PROCESSED, queue="avatar_creator")
    missing = "00000000-0000-0000-0000-000000000000"

    # A message for a generation that was deleted (or never stored) reaches the worker.
    with caplog.at_level(logging.INFO, logger="lumiku"):
        queue.enqueue(GENERATE_ACTOR, generation_id=missing)
        kit.drain(client)

    # The job ran once and ended quietly: no retry, no failure, no dead letter...
    assert stats.count(JobState.PROCESSED, queue="avatar_creator") == processed + 1
    assert stats.count(JobState.RETRIED, queue="avatar_creator") == 0
    assert stats.count(JobState.FAILED, queue="avatar_creator") == 0
    assert runtime.broker.dead_letters == []
    # ...said what it skipped...
    assert any(missing in record.getMessage() for record in caplog.records), caplog.text
    # ...and touched nothing: no row, no credit, no file, no further job.
    assert {table: kit.count_rows(client, table) for table in TABLES} == rows
    assert kit.files() == files
    assert len(queue.jobs) == jobs + 1
    assert api.balance() == {"balance": 90, "held": 0, "available": 90}
