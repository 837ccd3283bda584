"""Retries with the same Idempotency-Key: charged exactly once for the work finally done.

Each test drives several scenarios on one app (a fresh user each) to keep the suite fast.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku_avatar_creator.models import avatar_generations


@pytest.fixture
def client(shared_app: tuple[TestClient, Any]) -> TestClient:
    """This module's tests share one app (each works with fresh users)."""
    return shared_app[0]


@pytest.fixture
def kit(shared_app: tuple[TestClient, Any]) -> Any:
    """The helpers, on the shared app's storage."""
    return shared_app[1]


def kinds(api: Any) -> list[tuple[str, int]]:
    return [(entry["kind"], entry["amount"]) for entry in api.history()]


def upload(api: Any, kit: Any, project_id: str, key: str) -> Any:
    return api.post(
        f"/projects/{project_id}/avatars/upload",
        files={"image": ("photo.png", kit.image(), "image/png")},
        data={"name": "Me"},
        headers={"Idempotency-Key": key},
    )


def database_error() -> Exception:
    return sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))


def crash() -> Exception:
    return RuntimeError("SIGKILL stand-in: the process dies here")


def failing_first(
    monkeypatch: pytest.MonkeyPatch,
    owner: Any,
    name: str,
    times: int,
    error: Any = database_error,
) -> None:
    """Make ``owner.name`` raise ``error()`` on its first ``times`` calls."""
    real = getattr(owner, name)
    calls: list[int] = []

    def flaky(*args: Any) -> Any:
        calls.append(1)
        if len(calls) <= times:
            raise error()
        return real(*args)

    monkeypatch.setattr(owner, name, flaky)


def test_upload_retries_are_charged_once(
    client: TestClient, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    uploads = kit.services(client).uploads

    # 1. Two attempts fail cleanly (row insert fails, spend refunded, 503: the database
    #    could not serve); the third, with the same key, makes the avatar and is charged
    #    once (attempts 0, 1, 2).
    api = kit.sign_up(client)
    project_id = api.project()
    failing_first(monkeypatch, uploads, "_insert", times=2)
    assert upload(api, kit, project_id, "same-key").status_code == 503
    assert upload(api, kit, project_id, "same-key").status_code == 503
    assert api.balance()["balance"] == 100
    done = upload(api, kit, project_id, "same-key")
    assert done.status_code == 200, done.text
    assert done.json()["creditUsed"] == 2
    assert api.balance() == {"balance": 98, "held": 0, "available": 98}
    assert kinds(api) == [
        ("spend", -2),
        ("refund", 2),
        ("spend", -2),
        ("refund", 2),
        ("spend", -2),
        ("welcome", 100),
    ]
    again = upload(api, kit, project_id, "same-key")
    assert again.json()["avatar"]["id"] == done.json()["avatar"]["id"]
    assert api.balance()["balance"] == 98
    assert len(api.get("/avatars").json()["avatars"]) == 1
    monkeypatch.undo()

    # 2. The process dies between the spend and the row (nothing compensates). Once the
    #    core hands the abandoned key to a retry, the retry completes the upload: the
    #    spend under the same key is replayed, not charged again.
    api = kit.sign_up(client)
    project_id = api.project()

    failing_first(monkeypatch, uploads, "_insert", times=1, error=crash)
    ledger = kit.services(client).ctx.ledger

    def refund_nothing(key: str) -> Any:  # a dead process refunds nothing
        raise crash()

    monkeypatch.setattr(ledger, "refund", refund_nothing)
    assert upload(api, kit, project_id, "crash-key").status_code == 500
    assert api.balance()["balance"] == 98  # spent, no avatar yet
    monkeypatch.undo()  # the retry runs on a healthy process
    retried = upload(api, kit, project_id, "crash-key")
    assert retried.status_code == 200, retried.text
    assert api.balance() == {"balance": 98, "held": 0, "available": 98}
    assert kinds(api) == [("spend", -2), ("welcome", 100)]
    assert [a["id"] for a in api.get("/avatars").json()["avatars"]] == [
        retried.json()["avatar"]["id"]
    ]


def test_a_priced_edit_is_charged_once_and_refunded_when_the_avatar_vanished(
    app_client: Any, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app_client(AVATAR_CREATOR_CREDITS_EDIT_PERSONA="3")
    api = kit.sign_up(client)
    avatar_id = api.upload(api.project()).json()["avatar"]["id"]
    key = {"Idempotency-Key": "edit-1"}

    assert api.put(f"/avatars/{avatar_id}", json={"name": "B"}, headers=key).status_code == 200
    assert api.put(f"/avatars/{avatar_id}", json={"name": "B"}, headers=key).status_code == 200
    assert api.balance()["balance"] == 100 - 2 - 3

    # The avatar is deleted between the spend and the change: refunded, 404; a retry with
    # the same key is 404 before anything is spent.
    avatars = kit.services(client).avatars
    real_get = avatars.get

    def get_then_delete(user_id: str, wanted: str) -> Any:
        row = real_get(user_id, wanted)
        avatars.delete(user_id, wanted)
        return row

    monkeypatch.setattr(avatars, "get", get_then_delete)
    gone = api.put(f"/avatars/{avatar_id}", json={"name": "C"}, headers={"Idempotency-Key": "e2"})
    assert gone.status_code == 404
    monkeypatch.undo()
    assert api.balance()["balance"] == 95
    assert api.put(
        f"/avatars/{avatar_id}", json={"name": "C"}, headers={"Idempotency-Key": "e2"}
    ).status_code in (404,)
    assert api.balance()["balance"] == 95
    assert [k for k, _ in kinds(api)][:2] == ["refund", "spend"]


def test_generate_retries_hold_once_for_a_job_that_can_run(
    client: TestClient, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []
    monkeypatch.setattr(
        kit.runtime(client).jobs, "enqueue", lambda actor, /, **kw: sent.append(kw["job_id"])
    )
    services = kit.services(client)
    body = {"name": "g", "prompt": "a friendly person", "width": 512, "height": 512}

    # 1. The row insert fails: the hold is released and the answer is 503. The retry
    #    with the same key gets a new, open hold (not the released one) and a job.
    api = kit.sign_up(client)
    project_id = api.project()
    failing_first(monkeypatch, services.jobs, "_row", times=1)
    url = f"/projects/{project_id}/avatars/generate"
    headers = {"Idempotency-Key": "gen-1"}
    assert api.post(url, json=body, headers=headers).status_code == 503
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    retried = api.post(url, json=body, headers=headers)
    assert retried.status_code == 202, retried.text
    generation_id = retried.json()["generation"]["id"]
    assert api.balance() == {"balance": 100, "held": 10, "available": 90}
    services.jobs.run(generation_id, retries=0)
    assert api.get(f"/generations/{generation_id}").json()["status"] == "completed"
    assert api.balance() == {"balance": 90, "held": 0, "available": 90}
    assert kinds(api) == [("capture", -10), ("welcome", 100)]
    monkeypatch.undo()

    # 2. The process dies between the hold and the row: the retry reuses the open hold.
    api = kit.sign_up(client)
    project_id = api.project()
    failing_first(monkeypatch, services.jobs, "_row", times=1, error=crash)
    charges = services.ctx.charges
    monkeypatch.setattr(charges, "release", lambda *a, **k: False)  # nobody releases
    url = f"/projects/{project_id}/avatars/generate"
    assert api.post(url, json=body, headers=headers).status_code == 500
    assert api.balance()["held"] == 10
    monkeypatch.delattr(charges, "release")  # the retry runs on a healthy process
    monkeypatch.setattr(kit.runtime(client).jobs, "enqueue", lambda actor, /, **kw: "sent")
    retried = api.post(url, json=body, headers=headers)
    assert retried.status_code == 202, retried.text
    assert api.balance() == {"balance": 100, "held": 10, "available": 90}  # one hold, not two


def test_a_submit_racing_a_project_delete_is_404_and_holds_nothing(
    client: TestClient, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kit.runtime(client).jobs, "enqueue", lambda actor, /, **kw: "sent")
    projects = kit.services(client).projects
    api = kit.sign_up(client)
    project_id = api.project()
    paused, go = threading.Event(), threading.Event()
    real_delete_rows = projects._delete_rows

    def delete_rows_later(connection: sa.Connection, deleted: str) -> list[str]:
        paused.set()  # the project is locked and its open generations are failed
        assert go.wait(10)
        return list(real_delete_rows(connection, deleted))

    monkeypatch.setattr(projects, "_delete_rows", delete_rows_later)
    deleter = threading.Thread(target=projects.delete, args=(api.user_id, project_id))
    deleter.start()
    assert paused.wait(10)
    answers: list[Any] = []
    submitter = threading.Thread(target=lambda: answers.append(api.generate(project_id)))
    submitter.start()
    time.sleep(0.3)  # let the submit reach the point where it waits for the delete
    go.set()
    deleter.join(10)
    submitter.join(20)

    assert answers[0].status_code == 404, answers[0].text
    assert answers[0].json()["error"]["code"] == "PROJECT_NOT_FOUND"
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    with kit.runtime(client).engine.connect() as connection:
        left = connection.execute(
            sa.select(sa.func.count())
            .select_from(avatar_generations)
            .where(avatar_generations.c.project_id == project_id)
        ).scalar_one()
    assert left == 0
