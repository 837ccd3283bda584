"""Uploads: checked by content before any charge, charged once, never below zero."""

from __future__ import annotations

import io
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image
from starlette.testclient import TestClient

from lumiku.idempotency import RequestKey

HTML = b"<html><script>alert(document.cookie)</script></html>"


def zip_payload() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", HTML)
    return buffer.getvalue()


def test_ten_concurrent_uploads_with_credits_for_four(
    app_client: Any, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app_client(LUMIKU_WELCOME_CREDITS="8")
    api = kit.sign_up(client)
    project_id = api.project()
    image = kit.image(300, 300)
    engine = kit.runtime(client).engine
    start = threading.Barrier(10)
    done = threading.Event()
    seen: list[tuple[int, int]] = []
    uploads = kit.services(client).uploads
    original = uploads.upload
    lock = threading.Lock()
    running = [0, 0]  # in the service now, most at once

    def counted(*args: Any) -> Any:
        with lock:
            running[0] += 1
            running[1] = max(running)
        try:
            return original(*args)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(uploads, "upload", counted)

    def watch_balance() -> None:
        query = sa.text("SELECT balance, held FROM credit_accounts WHERE user_id = :user")
        while not done.is_set():
            with engine.connect() as connection:
                row = connection.execute(query, {"user": api.user_id}).one()
            seen.append((int(row.balance), int(row.held)))

    def upload(index: int) -> Any:
        start.wait()
        return api.upload(project_id, image, name=f"avatar {index}")

    watcher = threading.Thread(target=watch_balance)
    watcher.start()
    try:
        with ThreadPoolExecutor(max_workers=10) as pool:
            responses = list(pool.map(upload, range(10)))
    finally:
        done.set()
        watcher.join()

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 4 + [402] * 6, [r.text for r in responses]
    assert running[1] > 1  # the requests really overlapped in the server
    for response in responses:
        if response.status_code == 402:
            assert response.json()["error"]["code"] == "INSUFFICIENT_CREDITS"
        else:
            assert response.json()["creditBalance"] >= 0
    assert seen
    assert min(balance - held for balance, held in seen) >= 0
    assert api.balance() == {"balance": 0, "held": 0, "available": 0}
    history = api.history()
    assert sorted((e["kind"], e["amount"]) for e in history) == [("spend", -2)] * 4 + [
        ("welcome", 8)
    ]
    spent_on = {e["referenceId"] for e in history if e["kind"] == "spend"}
    avatars = api.get("/avatars").json()["avatars"]
    assert {a["id"] for a in avatars} == spent_on
    assert len(kit.files()) == 8  # four images and four thumbnails; refused ones left nothing


def big_png() -> bytes:
    return kit_png_header() + b"\x00" * (11 * 1024 * 1024)


def kit_png_header() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300)).save(buffer, format="PNG")
    return buffer.getvalue()


def truncated_jpeg(kit: Any) -> bytes:
    data = kit.image(512, 512, "JPEG")
    return data[: len(data) // 2]


def jpeg_posing_html() -> bytes:
    # A JPEG signature and JFIF header, then an HTML page and a ZIP archive: a polyglot
    # that passes a magic-number sniff but is not an image.
    jfif = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return jfif + HTML + zip_payload()


BAD_UPLOADS = {
    "text-named-png": (lambda kit: b"just some text, not a picture\n" * 20, 415),
    "eleven-megabytes": (lambda kit: big_png(), 413),
    "100x100": (lambda kit: kit.image(100, 100), 422),
    "5000x5000": (lambda kit: kit.image(5000, 5000), 422),
    "truncated-jpeg": (truncated_jpeg, 400),
    "polyglot": (lambda kit: jpeg_posing_html(), 415),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_a_bad_upload_is_refused_without_charge_or_files(
    client: TestClient, kit: Any, case: str
) -> None:
    make, status = BAD_UPLOADS[case]
    api = kit.sign_up(client)
    project_id = api.project()

    response = api.upload(project_id, make(kit))

    assert response.status_code == status, response.text
    assert 400 <= response.status_code < 500
    assert "error" in response.json()
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    assert [e["kind"] for e in api.history()] == ["welcome"]
    assert kit.files() == []
    assert api.get("/avatars").json()["avatars"] == []


def test_an_image_with_a_payload_appended_is_stored_only_as_a_clean_re_encode(
    client: TestClient, kit: Any
) -> None:
    # The core's decision (lumiku.storage.images): a valid image carrying an appended ZIP or
    # HTML is accepted, and what is stored is a fresh encode of its pixels alone.
    api = kit.sign_up(client)

    response = api.upload(api.project(), kit.image(400, 400) + zip_payload() + HTML)

    assert response.status_code == 200, response.text
    stored = client.get(response.json()["avatar"]["imageUrl"]).content
    assert b"PK\x03\x04" not in stored
    assert b"<script" not in stored
    assert not zipfile.is_zipfile(io.BytesIO(stored))


def test_missing_or_bad_fields_are_422_without_charge(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()
    path = f"/projects/{project_id}/avatars/upload"

    no_image = api.post(path, data={"name": "x"}, files={"other": ("a.txt", b"x", "text/plain")})
    no_name = api.post(path, files={"image": ("a.png", kit.image(), "image/png")})
    bad_persona = api.upload(
        project_id, personaAge="200", personaPersonality=",".join(f"t{i}" for i in range(11))
    )

    assert no_image.status_code == 422
    assert no_name.status_code == 422
    assert bad_persona.status_code == 422
    fields = bad_persona.json()["error"]["details"]["fields"]
    assert set(fields) == {"personaAge", "personaPersonality"}
    assert api.balance()["balance"] == 100
    assert kit.files() == []


def test_a_retry_with_the_same_idempotency_key_is_charged_once(
    client: TestClient, kit: Any
) -> None:
    api = kit.sign_up(client)
    project_id = api.project()
    image = kit.image()
    files = {"image": ("a.png", image, "image/png")}
    # A retry repeats the request byte for byte, multipart boundary included: the core's
    # replay store fingerprints the raw body.
    headers = {
        "Idempotency-Key": "upload-1",
        "Content-Type": "multipart/form-data; boundary=retry-boundary-1",
    }
    path = f"/projects/{project_id}/avatars/upload"

    first = api.post(path, files=files, data={"name": "A"}, headers=headers)
    again = api.post(path, files=files, data={"name": "A"}, headers=headers)

    assert first.status_code == again.status_code == 200
    assert first.json()["avatar"]["id"] == again.json()["avatar"]["id"]
    assert api.balance()["balance"] == 98
    assert len(api.get("/avatars").json()["avatars"]) == 1


def test_the_upload_service_finds_the_first_avatar_on_a_retry(client: TestClient, kit: Any) -> None:
    # Below the HTTP replay store: the same key derives the same avatar id and ledger key.
    from lumiku import UploadedFile
    from lumiku_avatar_creator.uploads import AvatarUploadForm

    api = kit.sign_up(client)
    project_id = api.project()
    uploads = kit.services(client).uploads

    def call() -> Any:  # what the route hands the service: user, form and the request's key
        key = RequestKey.from_header(api.user_id, "key-1")
        image = UploadedFile("a.png", "image/png", kit.image())
        return SimpleNamespace(
            user_id=api.user_id, request_key=key, body=AvatarUploadForm(name="A", image=image)
        )

    first = uploads.upload(call(), project_id)
    again = uploads.upload(call(), project_id)

    assert first.avatar["id"] == again.avatar["id"]
    assert again.credit_used == 2
    assert api.balance()["balance"] == 98
    assert len(kit.files()) == 2


def test_uploads_are_rate_limited_to_ten_a_minute(client: TestClient, kit: Any) -> None:
    api = kit.sign_up(client)
    project_id = api.project()

    too_small = kit.image(100, 100)  # a well-formed upload the image check refuses
    statuses = [api.upload(project_id, too_small).status_code for _ in range(11)]

    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429


def test_an_upload_whose_row_cannot_be_saved_is_refunded_and_its_files_removed(
    client: TestClient, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = kit.sign_up(client)
    project_id = api.project()
    uploads = kit.services(client).uploads
    insert = uploads._insert

    def project_deleted_meanwhile(*args: Any) -> Any:
        assert len(kit.files()) == 2  # stored, and charged, by now
        assert api.delete(f"/projects/{project_id}").status_code == 204
        return insert(*args)

    monkeypatch.setattr(uploads, "_insert", project_deleted_meanwhile)
    response = api.upload(project_id)

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "PROJECT_NOT_FOUND"
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    assert sorted(e["kind"] for e in api.history()) == ["refund", "spend", "welcome"]
    assert kit.files() == []
