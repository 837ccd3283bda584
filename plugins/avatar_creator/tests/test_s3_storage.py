"""The Avatar Creator on the S3 backend: an upload and a generation store their files in
the bucket (none on the disk), and the signed URLs stream them back from it."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image
from starlette.testclient import TestClient

from lumiku.testing import runtime_of
from lumiku.testing.s3_server import S3Server
from lumiku.testing.server import free_port


def bucket_objects(s3_server: S3Server, bucket: str) -> dict[str, bytes]:
    """Return every object in ``bucket`` with its content."""
    client = s3_server.client()
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in listed
    }


def test_upload_and_generation_live_in_the_bucket(
    app_client: Callable[..., TestClient],
    s3_env: dict[str, str],
    s3_server: S3Server,
    kit: Any,
    storage_dir: Path,
) -> None:
    client = app_client(**s3_env)
    api = kit.sign_up(client)
    project_id = api.project("On S3")

    uploaded = api.upload(project_id, kit.image(640, 480), name="Ana")
    assert uploaded.status_code == 200, uploaded.text
    submitted = api.generate(project_id, name="Ana generated")
    assert submitted.status_code == 202, submitted.text
    done = api.wait_for(submitted.json()["generation"]["id"])
    assert done["status"] == "completed", done

    objects = bucket_objects(s3_server, s3_env["LUMIKU_S3_BUCKET"])
    # The upload and the generated avatar, each with a thumbnail.
    assert len(objects) == 4
    assert all(name.startswith("avatar-creator/") for name in objects)
    assert kit.files() == []  # nothing on the local disk
    image = client.get(done["avatar"]["imageUrl"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert int(image.headers["content-length"]) == len(image.content)
    assert image.content in objects.values()
    with Image.open(io.BytesIO(image.content)) as picture:
        assert picture.size == (512, 512)
    thumbnail = client.get(uploaded.json()["avatar"]["thumbnailUrl"])
    assert thumbnail.status_code == 200
    assert thumbnail.headers["content-type"] == "image/jpeg"

    deleted = api.delete(f"/avatars/{uploaded.json()['avatar']['id']}")
    assert deleted.status_code in (200, 204), deleted.text
    assert len(bucket_objects(s3_server, s3_env["LUMIKU_S3_BUCKET"])) == 2


def test_a_store_that_cannot_be_reached_is_503_and_charges_nothing(
    app_client: Callable[..., TestClient], s3_env: dict[str, str], kit: Any
) -> None:
    gone = {
        **s3_env,
        "LUMIKU_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
        "LUMIKU_S3_MAX_ATTEMPTS": "1",
        "LUMIKU_S3_CONNECT_TIMEOUT": "1",
    }
    client = app_client(**gone)
    api = kit.sign_up(client)
    project_id = api.project("Store away")

    uploaded = api.upload(project_id, kit.image(640, 480), name="Ana")

    assert uploaded.status_code == 503, uploaded.text
    assert uploaded.json()["error"]["code"] == "STORAGE_UNAVAILABLE"
    assert "127.0.0.1" not in uploaded.text
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    signed = runtime_of(client).signer.sign("avatar-creator/2025/03/" + "0" * 32 + ".png")
    fetched = client.get(signed)
    assert fetched.status_code == 503
    assert fetched.json()["error"]["code"] == "STORAGE_UNAVAILABLE"
