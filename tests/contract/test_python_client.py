"""Every flow through the Python client generated from the served /openapi.json, and nothing
else: a client generated as a new user would generate it must sign up, pay, upload, generate
and read its errors (402, 404, 409, 415, 422, 429) with their bodies parsed."""

from __future__ import annotations

import io
import time
import uuid
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
