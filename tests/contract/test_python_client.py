"""Every flow through the Python client generated from the served /openapi.json, and nothing
else: a client generated as a new user would generate it must sign up, pay, upload, generate
and read its errors (402, 404, 409, 415, 422, 429) with their bodies parsed."""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

PASSWORD = "contract-user-passphrase-31"


def png(width: int = 320, height: int = 320) -> bytes:
    """Return a small PNG with some detail."""
    picture = Image.new("RGB", (width, height), (40, 120, 200))
    for x in range(0, width, 7):
        picture.putpixel((x, x % height), (x % 256, 20, 90))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def ok(response: Any, status: int = 200) -> Any:
    """Assert the status of a ``sync_detailed`` response and return its parsed body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    return response.parsed


def error_of(response: Any, status: int, code: str | None = None) -> Any:
    """Assert an error status and return the parsed ``ErrorBody.error``."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.parsed
    assert type(body).__name__ == "ErrorBody", body
    if code is not None:
        assert body.error.code == code, body.error
    assert body.error.message
    return body.error


def new_user(api: Any, served: Any, credits: int = 0) -> tuple[Any, str]:
    """Register through the client, grant ``credits`` as the admin; return (client, user id)."""
    m = api.models
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    anonymous = api.client(served.url)
    session = ok(
        api.op("register").sync_detailed(
            client=anonymous, body=m.RegisterBody(email=email, password=PASSWORD, name="Ana")
        ),
        201,
    )
    if credits:
        admin = api.client(served.url, served.admin_token)
        ok(
            api.op("grantCredits").sync_detailed(
                client=admin,
                body=m.GrantBody(user_id=session.user.id, amount=credits, reason="contract"),
                idempotency_key=f"grant-{uuid.uuid4().hex}",
            ),
            201,
        )
    return api.client(served.url, session.token), session.user.id


def file_parts(url: str) -> tuple[str, int, str]:
    """Split a signed file link into the ``getFile`` arguments."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    key = parts.path.removeprefix("/files/")
    return key, int(query["expires"][0]), query["signature"][0]


def test_account_register_login_profile_balance_and_history_by_cursor(
    api: Any, served: Any
) -> None:
    m = api.models
    email = f"ana-{uuid.uuid4().hex[:10]}@example.com"
    anonymous = api.client(served.url)
    registered = ok(
        api.op("register").sync_detailed(
            client=anonymous, body=m.RegisterBody(email=email, password=PASSWORD, name="Ana")
        ),
        201,
    )
    session = ok(
        api.op("login").sync_detailed(
            client=anonymous, body=m.LoginBody(email=email, password=PASSWORD)
        )
    )
    assert session.user.id == registered.user.id
    user = api.client(served.url, session.token)
    profile = ok(api.op("getProfile").sync_detailed(client=user))
    assert profile.user.email == email
    renamed = ok(
        api.op("updateProfile").sync_detailed(client=user, body=m.ProfileBody(name="Ana B"))
    )
    assert renamed.user.name == "Ana B"

    admin = api.client(served.url, served.admin_token)
    for amount in (5, 7, 11, 13):
        ok(
            api.op("grantCredits").sync_detailed(
                client=admin,
                body=m.GrantBody(user_id=session.user.id, amount=amount, reason="contract"),
                idempotency_key=f"grant-{uuid.uuid4().hex}",
            ),
            201,
        )
    balance = ok(api.op("getBalance").sync_detailed(client=user))
    assert (balance.balance, balance.held, balance.available) == (36, 0, 36)

    amounts: list[int] = []
    cursor: Any = api.types.UNSET
    while True:
        page = ok(api.op("listHistory").sync_detailed(client=user, limit=1, cursor=cursor))
        amounts.extend(entry.amount for entry in page.entries)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert amounts == [13, 11, 7, 5]

    assert api.op("logout").sync_detailed(client=user).status_code == 204
    error_of(api.op("getBalance").sync_detailed(client=user), 401, "UNAUTHORIZED")


def test_public_and_operator_routes(api: Any, served: Any) -> None:
    anonymous = api.client(served.url)
    admin = api.client(served.url, served.admin_token)
    assert ok(api.op("getHealth").sync_detailed(client=anonymous)).status.value in {
        "up",
        "degraded",
    }
    ok(api.op("getLiveness").sync_detailed(client=anonymous))
    ok(api.op("getReadiness").sync_detailed(client=anonymous))
    detailed = ok(api.op("getHealthDetailed").sync_detailed(client=admin))
    assert "avatar_creator" in detailed.plugins.additional_properties
    assert ok(api.op("getPluginHealth").sync_detailed("avatar-creator", client=admin)).plugin
    for operation in ("getAvatarHealth", "getPoseHealth", "getPaymentHealth"):
        assert ok(api.op(operation).sync_detailed(client=admin)).state
    apps = ok(api.op("listApps").sync_detailed(client=anonymous))
    assert {app.id for app in apps.apps} >= {"avatar_creator", "payments_duitku"}
    plugins = ok(api.op("listPlugins").sync_detailed(client=admin))
    assert plugins.plugins
    assert ok(api.op("getMetrics").sync_detailed(client=admin)).startswith("# HELP")
    document = api.op("getOpenApiDocument").sync_detailed(client=anonymous)
    assert document.status_code == 200
    error_of(api.op("getPluginHealth").sync_detailed("no-such", client=admin), 404)


def test_avatar_creator_every_flow(api: Any, served: Any) -> None:
    m, File = api.models, api.types.File  # noqa: N806 - a class
    user, _user_id = new_user(api, served, credits=1_000)
    anonymous = api.client(served.url)
    info = ok(api.op("getAvatarInfo").sync_detailed(client=anonymous))
    assert info.credits_.additional_properties
    presets = ok(api.op("listAvatarPresets").sync_detailed(client=anonymous, limit=2))
    preset = ok(api.op("getAvatarPreset").sync_detailed(presets.presets[0].id, client=anonymous))
    examples = ok(api.op("listAvatarPersonaExamples").sync_detailed(client=anonymous, limit=2))
    assert examples.persona_examples

    body = m.AvatarProjectBody(name="Contract", description="made by the generated client")
    key = f"create-{uuid.uuid4().hex}"
    project = ok(
        api.op("createAvatarProject").sync_detailed(client=user, body=body, idempotency_key=key),
        201,
    )
    again = api.op("createAvatarProject").sync_detailed(client=user, body=body, idempotency_key=key)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.parsed.id == project.id
    listed = ok(api.op("listAvatarProjects").sync_detailed(client=user))
    assert [p.id for p in listed.projects] == [project.id]  # a retried create made one
    reused = api.op("createAvatarProject").sync_detailed(
        client=user, body=m.AvatarProjectBody(name="Another"), idempotency_key=key
    )
    error_of(reused, 422)  # the key again with another body
    ok(api.op("getAvatarProject").sync_detailed(project.id, client=user))
    updated = ok(
        api.op("updateAvatarProject").sync_detailed(
            project.id, client=user, body=m.AvatarProjectUpdateBody(name="Renamed")
        )
    )
    assert updated.name == "Renamed"

    photo = File(payload=io.BytesIO(png()), file_name="me.png", mime_type="image/png")
    uploaded = ok(
        api.op("uploadAvatar").sync_detailed(
            project.id,
            client=user,
            body=m.AvatarUploadForm(name="Me", image=photo, persona_name="Ana", persona_age=30),
            idempotency_key=f"upload-{uuid.uuid4().hex}",
        )
    )
    avatar = uploaded.avatar
    assert (avatar.name, avatar.width, avatar.persona_age) == ("Me", 320, 30)
    key_, expires, signature = file_parts(avatar.image_url)
    picture = api.op("getFile").sync_detailed(
        key_, client=anonymous, expires=expires, signature=signature
    )
    assert picture.status_code == 200
    assert picture.content.startswith(b"\x89PNG")

    queued = ok(
        api.op("generateAvatar").sync_detailed(
            project.id,
            client=user,
            body=m.AvatarGenerateBody(name="Made", prompt="a friendly portrait, studio light"),
            idempotency_key=f"generate-{uuid.uuid4().hex}",
        ),
        202,
    )
    generation = queued.generation
    deadline = time.monotonic() + 60
    while generation.status not in ("completed", "failed"):
        assert time.monotonic() < deadline, generation.status
        time.sleep(0.2)
        generation = ok(api.op("getAvatarGeneration").sync_detailed(generation.id, client=user))
    assert generation.status == "completed"
    made = ok(api.op("getAvatar").sync_detailed(generation.avatar_id, client=user))
    assert made.generation_id == generation.id
    from_preset = ok(
        api.op("createAvatarFromPreset").sync_detailed(
            project.id,
            client=user,
            body=m.AvatarFromPresetBody(preset_id=preset.id),
            idempotency_key=f"preset-{uuid.uuid4().hex}",
        ),
        202,
    )
    assert from_preset.generation.preset_id == preset.id
    generations = ok(
        api.op("listAvatarGenerations").sync_detailed(client=user, project_id=project.id)
    )
    assert generation.id in {g.id for g in generations.generations}

    changed = ok(
        api.op("updateAvatar").sync_detailed(
            avatar.id, client=user, body=m.AvatarUpdateBody(name="Me again", style="casual")
        )
    )
    assert (changed.name, changed.style) == ("Me again", "casual")
    avatars = ok(api.op("listAvatars").sync_detailed(client=user, project_id=project.id))
    assert avatar.id in {a.id for a in avatars.avatars}
    history = ok(api.op("getAvatarUsageHistory").sync_detailed(avatar.id, client=user))
    assert history is not None
    stats = ok(api.op("getAvatarStats").sync_detailed(client=user))
    assert stats is not None
    assert api.op("deleteAvatar").sync_detailed(avatar.id, client=user).status_code == 204
    error_of(api.op("getAvatar").sync_detailed(avatar.id, client=user), 404)
    deleted = api.op("deleteAvatarProject").sync_detailed(project.id, client=user)
    assert deleted.status_code == 204


def test_payment_against_the_duitku_emulator(api: Any, served: Any) -> None:
    m = api.models
    user, _user_id = new_user(api, served)
    packages = ok(api.op("listPaymentPackages").sync_detailed(client=api.client(served.url)))
    package = packages.packages[0]
    methods = ok(api.op("listPaymentMethods").sync_detailed(client=user, package_id=package.id))
    assert methods is not None
    payment = ok(
        api.op("createPayment").sync_detailed(
            client=user,
            body=m.CreatePayment(package_id=package.id),
            idempotency_key=f"pay-{uuid.uuid4().hex}",
        ),
        201,
    )
    assert payment.status == "pending"
    delivered = served.duitku.pay(payment.merchant_order_id)  # the customer pays at Duitku
    assert delivered.status_code == 200, delivered.text
    paid = ok(api.op("getPayment").sync_detailed(payment.merchant_order_id, client=user))
    assert paid.status == "paid"
    assert ok(api.op("getBalance").sync_detailed(client=user)).balance == package.credits_
    listed = ok(api.op("listPayments").sync_detailed(client=user))
    assert [p.merchant_order_id for p in listed.payments] == [payment.merchant_order_id]
    error_of(api.op("getPayment").sync_detailed("LMK-NOPE", client=user), 404)


def test_error_bodies_are_parsed(api: Any, served: Any) -> None:
    m = api.models
    poor, _user_id = new_user(api, served, credits=0)
    project = ok(
        api.op("createAvatarProject").sync_detailed(
            client=poor, body=m.AvatarProjectBody(name="Poor")
        ),
        201,
    )
    refused = error_of(
        api.op("generateAvatar").sync_detailed(
            project.id,
            client=poor,
            body=m.AvatarGenerateBody(name="Made", prompt="a friendly portrait, studio light"),
        ),
        402,
        "INSUFFICIENT_CREDITS",
    )
    assert refused.details.available == 0
    assert refused.details.required > 0

    missing = error_of(
        api.op("getAvatarProject").sync_detailed(str(uuid.uuid4()), client=poor), 404
    )
    assert missing.code.endswith("NOT_FOUND")

    email = f"taken-{uuid.uuid4().hex[:10]}@example.com"
    anonymous = api.client(served.url)
    body = m.RegisterBody(email=email, password=PASSWORD)
    ok(api.op("register").sync_detailed(client=anonymous, body=body), 201)
    error_of(api.op("register").sync_detailed(client=anonymous, body=body), 409, "CONFLICT")

    wrong_media = api.client(served.url, content_type="text/plain")
    error_of(
        api.op("login").sync_detailed(
            client=wrong_media, body=m.LoginBody(email=email, password=PASSWORD)
        ),
        415,
    )

    invalid = error_of(
        api.op("createAvatarProject").sync_detailed(
            client=poor, body=m.AvatarProjectBody(name="   ")
        ),
        422,
        "VALIDATION_ERROR",
    )
    assert "name" in invalid.details.fields.additional_properties

    for _attempt in range(5):
        error_of(
            api.op("login").sync_detailed(
                client=anonymous, body=m.LoginBody(email=email, password="not-the-password-1")
            ),
            401,
        )
    throttled = api.op("login").sync_detailed(
        client=anonymous, body=m.LoginBody(email=email, password="not-the-password-1")
    )
    error = error_of(throttled, 429, "RATE_LIMITED")
    assert int(throttled.headers["Retry-After"]) > 0
    assert error.details.retry_after == int(throttled.headers["Retry-After"])


def body_of(response: Any, status: int = 200) -> Any:
    """Return the JSON of a response whose body the document leaves untyped (``parsed`` is
    ``None``), asserting its status."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    if response.parsed is not None and hasattr(response.parsed, "to_dict"):
        return response.parsed.to_dict()
    return json.loads(response.content)


def test_pose_generator_every_flow(api: Any, served: Any) -> None:
    m, File = api.models, api.types.File  # noqa: N806 - a class
    user, _user_id = new_user(api, served, credits=1_000)
    admin = api.client(served.url, served.admin_token)
    anonymous = api.client(served.url)
    body_of(api.op("getPoseInfo").sync_detailed(client=anonymous))
    categories = ok(api.op("listPoseCategories").sync_detailed(client=anonymous))
    assert categories is not None
    library = ok(api.op("listPoseLibrary").sync_detailed(client=anonymous, limit=3))
    pose_ids = [pose.id for pose in library.poses]
    assert len(pose_ids) == 3
    ok(api.op("getPose").sync_detailed(pose_ids[0], client=anonymous))
    picture = api.op("getPosePicture").sync_detailed(pose_ids[0], "thumbnail", client=anonymous)
    assert picture.status_code == 200
    assert picture.content.startswith(b"\x89PNG")

    photo = File(payload=io.BytesIO(png()), file_name="me.png", mime_type="image/png")
    uploaded = body_of(
        api.op("uploadPoseImage").sync_detailed(
            client=user,
            body=m.ImageUploadForm(image=photo),
            idempotency_key=f"pose-upload-{uuid.uuid4().hex}",
        ),
        201,
    )
    project_body = m.ProjectBody(
        project_name="Shoot",
        avatar_source=m.ProjectBodyAvatarSource("UPLOAD"),
        avatar_image_url=uploaded["imageUrl"],
    )
    key = f"pose-project-{uuid.uuid4().hex}"
    project = body_of(
        api.op("createPoseProject").sync_detailed(
            client=user, body=project_body, idempotency_key=key
        ),
        201,
    )
    again = api.op("createPoseProject").sync_detailed(
        client=user, body=project_body, idempotency_key=key
    )
    assert body_of(again, 201)["id"] == project["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = body_of(api.op("listPoseProjects").sync_detailed(client=user))
    assert [p["id"] for p in listed["projects"]] == [project["id"]]
    body_of(api.op("getPoseProject").sync_detailed(project["id"], client=user))
    renamed = body_of(
        api.op("updatePoseProject").sync_detailed(
            project["id"], client=user, body=m.ProjectUpdateBody(project_name="Shoot 2")
        )
    )
    assert renamed["projectName"] == "Shoot 2"

    queued = body_of(
        api.op("generatePose").sync_detailed(
            client=user,
            body=m.GenerateBody(
                project_id=project["id"],
                generation_type=m.GenerateBodyGenerationType("GALLERY_REFERENCE"),
                selected_pose_ids=pose_ids[:2],
            ),
            idempotency_key=f"pose-generate-{uuid.uuid4().hex}",
        ),
        202,
    )
    generation_id = queued["generationId"]
    generation = wait_for_pose_generation(api, user, generation_id)
    assert generation["status"] == "completed", generation
    results = body_of(api.op("getPoseResults").sync_detailed(generation_id, client=user))
    poses = results["poses"]
    assert len(poses) == 2
    exported = body_of(
        api.op("regeneratePoseExport").sync_detailed(
            poses[0]["id"], client=user, body=m.ExportBody(formats=["tiktok"])
        )
    )
    assert exported["exports"]["tiktok"]
    archive = api.op("exportPoseZip").sync_detailed(generation_id, client=user, formats="original")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert len(opened.namelist()) == 2
    changed = body_of(
        api.op("changePoseBackground").sync_detailed(
            poses[0]["id"],
            client=user,
            body=m.BackgroundBody(
                background_mode=m.BackgroundBodyBackgroundMode("solid_color"),
                background_color="#00ff00",
            ),
            idempotency_key=f"pose-background-{uuid.uuid4().hex}",
        ),
        202,
    )
    assert wait_for_pose_generation(api, user, changed["generationId"])["status"] == "completed"
    body_of(api.op("getPoseStats").sync_detailed(client=user))

    name = f"Holding a mug {uuid.uuid4().hex[:6]}"
    request = ok(
        api.op("submitPoseRequest").sync_detailed(
            client=user,
            body=m.PoseRequestBody(pose_name=name, description="Both hands around a mug."),
            idempotency_key=f"pose-request-{uuid.uuid4().hex}",
        ),
        201,
    )
    duplicate = api.op("submitPoseRequest").sync_detailed(
        client=user, body=m.PoseRequestBody(pose_name=name, description="Again, the mug.")
    )
    error_of(duplicate, 409)
    mine = ok(api.op("listMyPoseRequests").sync_detailed(client=user))
    assert request.id in {r.id for r in mine.requests}
    pending = ok(api.op("listAllPoseRequests").sync_detailed(client=admin, limit=100))
    assert request.id in {r.id for r in pending.requests}
    ok(api.op("approvePoseRequest").sync_detailed(request.id, client=admin))
    ok(api.op("startPoseRequest").sync_detailed(request.id, client=admin))
    done = ok(
        api.op("completePoseRequest").sync_detailed(
            request.id, client=admin, body=m.CompleteBody(pose_id=pose_ids[0], notes="Added.")
        )
    )
    assert done.status == "completed"
    other = ok(
        api.op("submitPoseRequest").sync_detailed(
            client=user,
            body=m.PoseRequestBody(pose_name=f"{name} 2", description="Another pose."),
        ),
        201,
    )
    rejected = ok(
        api.op("rejectPoseRequest").sync_detailed(
            other.id, client=admin, body=m.RejectBody(notes="Unsafe.")
        )
    )
    assert rejected.status == "rejected"
    error_of(api.op("approvePoseRequest").sync_detailed(other.id, client=user), 403)

    deleted = api.op("deletePoseProject").sync_detailed(project["id"], client=user)
    assert deleted.status_code == 204
    error_of(api.op("getPoseProject").sync_detailed(project["id"], client=user), 404)


def wait_for_pose_generation(api: Any, user: Any, generation_id: str) -> Any:
    """Poll ``getPoseGeneration`` until the generation finishes; return its last state."""
    deadline = time.monotonic() + 90
    while True:
        generation = body_of(api.op("getPoseGeneration").sync_detailed(generation_id, client=user))
        if generation["status"] in ("completed", "partial", "failed"):
            return generation
        assert time.monotonic() < deadline, generation
        time.sleep(0.2)
