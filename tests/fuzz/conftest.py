"""Fixtures of the schemathesis run (``test_schemathesis.py``): a real ``lumiku serve`` with
core and the three plugins on the test's database, payments pointed at a Duitku emulator,
and the accounts and things that exist before the run, all made over HTTP."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from lumiku.testing import free_port, runtime_of, serve_in_thread
from lumiku.testing.processes import lumiku_command, wait_process_ready
from lumiku.testing.pytest_plugin import test_backend

PASSWORD = "tangerine-compass-42-lantern"
AVATARS = "/api/apps/avatar-creator"
POSES = "/api/apps/pose-generator"
SMALL = {"POSE_GENERATOR_IMAGE_WIDTH": "192", "POSE_GENERATOR_IMAGE_HEIGHT": "256"}


@attrs.define
class Server:
    """A ``lumiku serve`` process on its own port, its log, and its worker's if it has one."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]
    worker_log: Path | None = None

    def log_text(self) -> str:
        """Return what the server (then its worker) logged so far."""
        logs = [self.log] if self.worker_log is None else [self.log, self.worker_log]
        return "\n".join(log.read_text(errors="replace") for log in logs)


def wait_ready(server: Server, timeout: float = 90.0) -> None:
    """Wait until the server answers ``/health/readiness`` with 200."""
    wait_process_ready(server.url, server.process, server.log_text, "lumiku serve", timeout)


@pytest.fixture
def duitku() -> Iterator[dict[str, str]]:
    """Yield the payments plugin's variables, pointed at a Duitku emulator over HTTP."""
    from lumiku_payments_duitku.emulator import API_PATH, DuitkuEmulator

    env = {"DUITKU_MERCHANT_CODE": "D0001", "DUITKU_API_KEY": "fuzz-key"}
    emulator = DuitkuEmulator(env["DUITKU_MERCHANT_CODE"], env["DUITKU_API_KEY"])
    with serve_in_thread(emulator.app) as url:
        yield {**env, "DUITKU_BASE_URL": url + API_PATH, "DUITKU_POLL_EVERY": "3600"}


@pytest.fixture
def start_server(
    make_app: Callable[..., Any],
    lumiku_env: dict[str, str],
    duitku: dict[str, str],
    private_redis: Callable[..., Any],
    tmp_path: Path,
) -> Iterator[Callable[..., Server]]:
    """Return ``start(plugins_path=None, *, embedded=False)``: the test's database migrated,
    an admin created with the CLI, then ``lumiku serve`` on a free port. On PostgreSQL the
    deployment is the production one (a Redis of the test's own and a ``lumiku worker``
    running the jobs) unless ``embedded``; on SQLite the embedded one (no Redis, jobs in the
    server). Every process the fixture
    started is stopped after the test, by its id."""
    started: list[subprocess.Popen[bytes]] = []

    def spawn(name: str, *arguments: str, env: dict[str, str]) -> tuple[Any, Path]:
        log = tmp_path / f"{name}-{len(started)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*lumiku_command(), *arguments], env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        started.append(process)
        return process, log

    def start(plugins_path: str | None = None, *, embedded: bool = False) -> Server:
        extra = {**duitku, **SMALL, "LUMIKU_WELCOME_CREDITS": "0"}  # the broke stay broke
        if test_backend() == "postgresql" and not embedded:
            extra.update(REDIS_ENABLED="true", REDIS_URL=private_redis().url)
        runtime_of(make_app(**extra)).engine.dispose()  # migrates the database
        env = {**os.environ, **lumiku_env, **extra}
        if plugins_path:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [plugins_path, env.get("PYTHONPATH")]))
        created = subprocess.run(
            [*lumiku_command(), "users", "create", "fuzz-admin@example.com", "--admin"],
            env={**env, "LUMIKU_NEW_PASSWORD": PASSWORD},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        worker_log = None
        if "REDIS_URL" in extra:
            arguments = ("worker", "--processes", "1", "--threads", "2")
            worker_log = spawn("worker", *arguments, env=env)[1]
        port = free_port()
        process, log = spawn("serve", "serve", "--port", str(port), env=env)
        server = Server(f"http://127.0.0.1:{port}", process, log, env, worker_log)
        wait_ready(server)
        return server

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# -- accounts and things that exist ------------------------------------------------------


def register(http: httpx.Client, name: str) -> tuple[str, str]:
    """Sign up ``name`` and log in over HTTP; return (user id, bearer token of the login)."""
    email = f"{name}-{os.urandom(4).hex()}@example.com"
    body = {"email": email, "password": PASSWORD, "name": name}
    registered = http.post("/api/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    return registered.json()["user"]["id"], login(http, email)


def login(http: httpx.Client, email: str) -> str:
    """Return the bearer token of a login over HTTP."""
    answer = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def expect(response: httpx.Response, status: int) -> Any:
    """Return the JSON body of ``response`` after checking its status."""
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def wait_done(http: httpx.Client, path: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll a generation until it leaves the queue; return its last view."""
    deadline = time.monotonic() + 120
    while True:
        view: dict[str, Any] = expect(http.get(path, headers=headers), 200)
        status = str(view.get("status", view.get("generation", {}).get("status", ""))).lower()
        if status in {"completed", "failed", "partial"}:
            return view
        assert time.monotonic() < deadline, view
        time.sleep(0.3)


def picture(size: int = 256) -> bytes:
    """Return a ``size`` x ``size`` PNG."""
    import io

    from PIL import Image

    image = Image.new("RGB", (size, size), (40, 120, 200))
    image.paste((150, 100, 70), (size // 3, size // 4, 2 * size // 3, size // 2))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_things(http: httpx.Client) -> tuple[dict[str, str], dict[str, list[Any]]]:
    """Make the accounts and one of everything; return (tokens by role, dictionaries)."""
    user_id, user = register(http, "fuzz")
    _logout_id, logout = register(http, "fuzz-logout")
    _profile_id, profile = register(http, "fuzz-profile")
    _broke_id, broke = register(http, "fuzz-broke")  # no credits: 402s
    admin = login(http, "fuzz-admin@example.com")
    tokens = {"user": user, "admin": admin, "logout": logout, "profile": profile, "broke": broke}
    bearer = {"Authorization": f"Bearer {user}"}
    grant = {"userId": user_id, "amount": 100_000, "reason": "fuzzing"}
    expect(
        http.post(
            "/api/admin/credits/grant", json=grant, headers={"Authorization": f"Bearer {admin}"}
        ),
        201,
    )
    found: dict[str, list[Any]] = {"users": [user_id], "plugins": []}
    found["plugins"] = ["avatar-creator", "pose-generator", "payments-duitku", "nope"]

    # Avatar Creator: projects, uploaded avatars, a generation from a preset run to its end.
    presets = expect(http.get(f"{AVATARS}/presets"), 200)["presets"]
    found["presets"] = [preset["id"] for preset in presets[:3]]
    for name in ("avatar_projects", "avatar_projects_doomed"):
        project = expect(http.post(f"{AVATARS}/projects", json={"name": name}, headers=bearer), 201)
        found[name] = [project["id"]]
    for name, project_id in (("avatars", found["avatar_projects"][0]),) * 2:
        uploaded = http.post(
            f"{AVATARS}/projects/{project_id}/avatars/upload",
            data={"name": "Fuzz"},
            files={"image": ("me.png", picture(), "image/png")},
            headers=bearer,
        )
        found.setdefault(name, []).append(expect(uploaded, 200)["avatar"]["id"])
    found["avatars_doomed"] = [found["avatars"].pop()]
    queued = http.post(
        f"{AVATARS}/projects/{found['avatar_projects'][0]}/avatars/from-preset",
        json={"presetId": found["presets"][0]},
        headers=bearer,
    )
    generation = expect(queued, 202)["generation"]["id"]
    wait_done(http, f"{AVATARS}/generations/{generation}", bearer)
    found["avatar_generations"] = [generation]

    # Pose Generator: an uploaded avatar image, projects, a generation run to its end.
    image = http.post(
        f"{POSES}/uploads", files={"image": ("me.png", picture(), "image/png")}, headers=bearer
    )
    image_url = expect(image, 201)["imageUrl"]
    found["image_urls"] = [image_url]
    for name in ("pose_projects", "pose_projects_doomed"):
        body = {"projectName": name, "avatarSource": "UPLOAD", "avatarImageUrl": image_url}
        found[name] = [expect(http.post(f"{POSES}/projects", json=body, headers=bearer), 201)["id"]]
    library = expect(http.get(f"{POSES}/library", params={"limit": 3}), 200)["poses"]
    found["library_poses"] = [pose["id"] for pose in library]
    found["pose_kinds"] = ["preview", "reference", "control", "thumbnail", "other"]
    found["export_formats"] = ["original", "instagram_feed", "twitter_post", "other"]  # small
    body = {
        "projectId": found["pose_projects"][0],
        "generationType": "GALLERY_REFERENCE",
        "selectedPoseIds": found["library_poses"][:2],
    }
    generation = expect(http.post(f"{POSES}/generate", json=body, headers=bearer), 202)[
        "generationId"
    ]
    wait_done(http, f"{POSES}/generations/{generation}", bearer)
    found["pose_generations"] = [generation]
    results = expect(http.get(f"{POSES}/generations/{generation}/results", headers=bearer), 200)
    found["generated_poses"] = [pose["id"] for pose in results["poses"]]
    found["pose_requests"] = [
        expect(
            http.post(
                f"{POSES}/requests",
                json={"poseName": f"Fuzz {number}", "description": "A pose to fuzz."},
                headers=bearer,
            ),
            201,
        )["id"]
        for number in range(4)
    ]

    # The account without credits owns projects too, so its charged requests reach the 402.
    broke_bearer = {"Authorization": f"Bearer {broke}"}
    project = http.post(f"{AVATARS}/projects", json={"name": "Broke"}, headers=broke_bearer)
    found["broke_avatar_projects"] = [expect(project, 201)["id"]]
    body = {"projectName": "Broke", "avatarSource": "UPLOAD", "avatarImageUrl": image_url}
    project = http.post(f"{POSES}/projects", json=body, headers=broke_bearer)
    found["broke_pose_projects"] = [expect(project, 201)["id"]]

    # Payments: the packages, a payment created at the emulator.
    packages = expect(http.get("/api/payments/packages"), 200)["packages"]
    found["packages"] = [package["id"] for package in packages]
    payment = http.post("/api/payments", json={"packageId": found["packages"][0]}, headers=bearer)
    found["payments"] = [expect(payment, 201)["merchantOrderId"]]

    # A signed file URL: its key, expiry and signature.
    signed = httpx.URL(image_url)
    found["file_keys"] = ["signed-file"]  # schemathesis_hooks.py puts the key in its place
    found["file_key"] = [signed.path.removeprefix("/files/")]
    found["file_expires"] = [int(signed.params["expires"])]
    found["file_signatures"] = [signed.params["signature"]]
    return tokens, found


# -- the run -----------------------------------------------------------------------------


@pytest.fixture
def sign_up() -> Callable[[httpx.Client, str], tuple[str, str]]:
    """Return ``register(http, name)``: a new account signed up and logged in over HTTP,
    as (user id, bearer token)."""
    return register


@pytest.fixture
def seed() -> Callable[[httpx.Client], tuple[dict[str, str], dict[str, list[Any]]]]:
    """Return ``make_things(http)``: the accounts and one of everything, as (tokens by role,
    dictionaries of ids)."""
    return make_things
