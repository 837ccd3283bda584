"""A failing provider: the generation ends failed and its hold is released exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku import GeneratedImage, ImageProvider, ImageRequest, PluginSpec, hookimpl
from lumiku.heldjobs import ClaimBusy
from lumiku.images.errors import ProviderRejected, ProviderUnavailable
from lumiku.images.local import LocalImageProvider
from lumiku.testing import OPERATOR_HEADERS


class ScriptedProvider(ImageProvider):
    """Fails the first ``failures`` calls with ``error`` (all calls when None), then renders."""

    name = "scripted"

    def __init__(self) -> None:
        self.error: Exception = ProviderRejected("content policy", provider="scripted", status=400)
        self.failures: int | None = None
        self.calls = 0
        self.entered = threading.Event()
        self.proceed = threading.Event()
        self.proceed.set()
        self._lock = threading.Lock()

    def generate(self, request: ImageRequest) -> GeneratedImage:
        with self._lock:
            self.calls += 1
            call = self.calls
        self.entered.set()
        self.proceed.wait(10)
        if self.failures is None or call <= self.failures:
            raise self.error
        return LocalImageProvider().generate(request)


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider()


@pytest.fixture
def failing_client(app_client: Any, provider: ScriptedProvider) -> TestClient:
    """An app whose avatar_creator uses the scripted provider, offered by a test plugin."""

    @hookimpl
    def register_image_providers() -> dict[str, ImageProvider]:
        return {"scripted": provider}

    test_plugin = PluginSpec(
        id="scripted_images",
        hooks=SimpleNamespace(register_image_providers=register_image_providers),  # type: ignore[arg-type]
    )
    client: TestClient = app_client(
        test_plugin,
        AVATAR_CREATOR_PROVIDER="scripted",
        AVATAR_CREATOR_MAX_RETRIES="2",
        AVATAR_CREATOR_RETRY_BACKOFF_MS="10",
    )
    return client


def hold_of(client: TestClient, kit: Any, generation_id: str) -> Any:
    services = kit.services(client)
    row = services.jobs.get(generation_id)
    assert row is not None
    return services.ctx.ledger.get_hold(row["hold_id"])


def deliver(client: TestClient, kit: Any, generation_id: str, times: int = 2) -> None:
    """Send the same message ``times`` times, as a broker may redeliver it."""
    broker = kit.runtime(client).broker
    message = broker.get_actor("avatar_creator.generate").message(job_id=generation_id)
    for _ in range(times):
        broker.enqueue(message)


def test_a_rejected_generation_fails_and_releases_its_hold_once(
    failing_client: TestClient, kit: Any, provider: ScriptedProvider
) -> None:
    api = kit.sign_up(failing_client)
    queued = api.generate(api.project()).json()
    generation_id = queued["generation"]["id"]
    assert queued["creditBalance"] == 90

    failed = api.wait_for(generation_id)
    kit.drain(failing_client)

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "PROVIDER_REJECTED"
    assert failed["avatar"] is None
    assert provider.calls == 1  # a rejection is not retried
    hold = hold_of(failing_client, kit, generation_id)
    assert hold.status == "released"
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}

    deliver(failing_client, kit, generation_id, times=2)
    kit.drain(failing_client)

    assert provider.calls == 1
    assert hold_of(failing_client, kit, generation_id) == hold  # resolved once, unchanged
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    assert [e["kind"] for e in api.history()] == ["welcome"]
    assert api.get(f"/generations/{generation_id}").json()["status"] == "failed"
    assert kit.files() == []


def test_a_provider_that_stays_down_fails_after_the_retries(
    failing_client: TestClient, kit: Any, provider: ScriptedProvider
) -> None:
    provider.error = ProviderUnavailable("busy", provider="scripted", status=503)
    api = kit.sign_up(failing_client)

    generation_id = api.generate(api.project()).json()["generation"]["id"]
    failed = api.wait_for(generation_id)
    kit.drain(failing_client)

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "PROVIDER_UNAVAILABLE"
    assert failed["attempts"] == 3
    assert provider.calls == 3  # the first attempt and two retries
    assert hold_of(failing_client, kit, generation_id).status == "released"
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    assert kit.runtime(failing_client).broker.dead_letters == []


def test_a_transient_failure_is_retried_and_then_charged_once(
    failing_client: TestClient, kit: Any, provider: ScriptedProvider
) -> None:
    provider.error = ProviderUnavailable("busy", provider="scripted", status=503)
    provider.failures = 1
    api = kit.sign_up(failing_client)

    generation_id = api.generate(api.project()).json()["generation"]["id"]
    done = api.wait_for(generation_id)
    kit.drain(failing_client)

    assert done["status"] == "completed"
    assert done["attempts"] == 2
    assert provider.calls == 2
    assert api.balance() == {"balance": 90, "held": 0, "available": 90}

    deliver(failing_client, kit, generation_id)
    kit.drain(failing_client)

    assert provider.calls == 2
    assert api.balance() == {"balance": 90, "held": 0, "available": 90}
    assert [e["kind"] for e in api.history()].count("capture") == 1
    assert len(api.get("/avatars").json()["avatars"]) == 1


def test_a_duplicate_delivered_while_the_first_runs_retries_after_the_claim(
    failing_client: TestClient, kit: Any, provider: ScriptedProvider, monkeypatch: Any
) -> None:
    services = kit.services(failing_client)
    job = services.jobs
    busy = threading.Event()
    delays: list[int] = []
    real_run = job.run

    def spy(generation_id: str, *, retries: int | None = None) -> None:
        try:
            real_run(generation_id, retries=retries)
        except ClaimBusy as exc:  # Dramatiq would retry it after exc.delay ms
            delays.append(exc.delay or 0)
            busy.set()

    monkeypatch.setattr(job, "run", spy)
    provider.proceed.clear()
    api = kit.sign_up(failing_client)
    generation_id = api.generate(api.project()).json()["generation"]["id"]
    assert provider.entered.wait(10)

    deliver(failing_client, kit, generation_id, times=1)  # runs on the second worker thread
    assert busy.wait(10)  # not acked as done: Dramatiq retries it once the claim lapsed
    lease = services.jobs.kind.limits.lease
    assert delays[0] > (lease - timedelta(seconds=30)).total_seconds() * 1000
    provider.proceed.set()
    failed = api.wait_for(generation_id)
    kit.drain(failing_client)  # the release follows the failure on the worker thread

    assert failed["status"] == "failed"
    assert provider.calls == 1
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    real_run(generation_id, retries=1)  # that retry, run now: it only settles
    assert provider.calls == 1
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}


def test_a_generation_the_queue_refuses_is_failed_and_its_hold_released(
    client: TestClient, kit: Any
) -> None:
    from lumiku import ServiceUnavailable

    api = kit.sign_up(client)
    project_id = api.project()

    kit.jobs(client).refuse(ServiceUnavailable("queue down"))
    response = api.generate(project_id)

    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "QUEUE_UNAVAILABLE"
    generation = api.get(f"/generations/{error['details']['jobId']}").json()
    assert generation["status"] == "failed"
    assert generation["error"]["code"] == "QUEUE_UNAVAILABLE"
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}


def test_an_unregistered_provider_is_503_before_any_hold(app_client: Any, kit: Any) -> None:
    client = app_client(AVATAR_CREATOR_PROVIDER="huggingface")  # no HUGGINGFACE_API_KEY
    api = kit.sign_up(client)

    response = api.generate(api.project())

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "PROVIDER_NOT_CONFIGURED"
    assert api.balance()["held"] == 0
    health = client.get("/api/apps/avatar-creator/health", headers=OPERATOR_HEADERS).json()
    assert health["checks"]["provider"]["status"] == "down"
