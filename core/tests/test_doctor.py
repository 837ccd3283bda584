"""``lumiku doctor`` runs the checks ``/health/detailed`` runs (``lumiku.health``: one
implementation), on the app built as ``lumiku serve`` builds it, plus the pre-deployment
items: the settings, each branch's migrations, Redis, the storage (an S3 bucket when
configured) and each plugin's state and checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from lumiku.testing import OPERATOR_HEADERS
from lumiku.testing.server import free_port

MARKS = ("✅", "⚠️", "❌")
CHECKING_HOOKS = '''
"""A plugin whose checks say something of their own."""

from lumiku import CheckResult, get, hookimpl


@hookimpl
def register_routes(ctx):
    return [get("/hello", lambda call: {"hello": "world"})]


@hookimpl
def register_migrations():
    return "@PKG@:migrations"


@hookimpl
def register_health_checks(ctx):
    return {
        "vendor": lambda: CheckResult("degraded", "vendor API slow (2 of 5 calls timed out)"),
        "quota": lambda: CheckResult("ok", "812 of 1000 calls left today"),
    }
'''


def lines_of(output: str) -> list[str]:
    found = [line for line in output.splitlines() if line.strip()]
    assert all(line.startswith(MARKS) for line in found), output
    return found


def test_doctor_says_what_health_detailed_says(
    run_cli: Callable[..., Any],
    lumiku_env: dict[str, str],
    install_plugin: Callable[..., Any],
    make_app: Callable[..., Any],
) -> None:
    plugin = install_plugin(hooks=CHECKING_HOOKS)
    env = {**lumiku_env, "LUMIKU_PLUGINS": f"{plugin.id},pose_generator"}
    assert run_cli(env, "migrate").code == 0

    doctor = run_cli(env, "doctor")
    app = make_app(None, LUMIKU_PLUGINS=env["LUMIKU_PLUGINS"])
    with TestClient(app) as client:
        detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()

    lines = lines_of(doctor.out)
    assert doctor.code == 0, doctor.out
    # Each plugin check the page reports, the doctor prints, in the same words.
    for plugin_id in (plugin.id, "pose_generator"):
        checks = detailed["plugins"][plugin_id]["checks"]
        assert checks, plugin_id
        for name, check in checks.items():
            mark = {"ok": "✅", "degraded": "⚠️", "down": "❌"}[check["status"]]
            detail = check.get("detail", check["status"])
            assert f"{mark} plugin {plugin_id} check {name}: {detail}" in lines
    # A check degraded: ⚠️, and the line says why a running plugin is marked so.
    assert f"⚠️ plugin {plugin.id} 1.2.3: running; health degraded" in lines
    # The Socket.IO namespace is registered as the server registers it.
    assert "✅ plugin pose_generator check websocket: /pose-generator" in lines
    # The core's checks too (the free space of the storage moves between the two runs).
    assert f"✅ queues: {detailed['checks']['queues']['detail']}" in lines
    assert any(line.startswith("✅ storage ") and "MB free" in line for line in lines)
    assert f"⚠️ Redis {detailed['checks']['redis']['detail']}" in lines


def test_a_plugin_check_down_fails_the_checklist(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], install_plugin: Callable[..., Any]
) -> None:
    hooks = CHECKING_HOOKS.replace(
        'CheckResult("ok", "812 of 1000 calls left today")',
        'CheckResult("down", "quota used up")',
    )
    plugin = install_plugin(hooks=hooks)
    env = {**lumiku_env, "LUMIKU_PLUGINS": plugin.id}
    assert run_cli(env, "migrate").code == 0

    doctor = run_cli(env, "doctor")

    assert doctor.code == 1
    lines = lines_of(doctor.out)
    assert f"❌ plugin {plugin.id} check quota: quota used up" in lines
    assert f"❌ plugin {plugin.id} 1.2.3: running; health down" in lines


def test_a_mistyped_sqlite_path_is_refused_not_created(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "typo" / "lumiku.db"
    doctor = run_cli({**lumiku_env, "DATABASE_URL": f"sqlite:///{missing}"}, "doctor")

    assert doctor.code == 1
    assert f"❌ database file {missing} does not exist" in doctor.out
    assert not missing.exists()
    assert not missing.parent.exists()


def test_doctor_against_a_local_s3_server_and_an_unreachable_one(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], s3_env: dict[str, str]
) -> None:
    env = {**lumiku_env, **s3_env, "LUMIKU_PLUGINS": ""}
    assert run_cli(env, "migrate").code == 0
    bucket = s3_env["LUMIKU_S3_BUCKET"]

    reachable = run_cli(env, "doctor")
    unreachable = run_cli(
        {
            **env,
            "LUMIKU_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
            "LUMIKU_S3_CONNECT_TIMEOUT": "1",
            "LUMIKU_S3_MAX_ATTEMPTS": "1",
        },
        "doctor",
    )

    assert reachable.code == 0, reachable.out
    assert f"✅ storage S3 bucket {bucket}: S3 bucket reachable" in lines_of(reachable.out)
    assert unreachable.code == 1, unreachable.out
    failed = [line for line in lines_of(unreachable.out) if line.startswith("❌")]
    assert len(failed) == 1, unreachable.out
    assert failed[0].startswith(f"❌ storage S3 bucket {bucket}: ")
    # No endpoint, key or secret in what the doctor prints.
    for secret in (s3_env["LUMIKU_S3_SECRET_ACCESS_KEY"], "127.0.0.1"):
        assert secret not in unreachable.out


def test_redis_away_is_a_failure_for_the_doctor_and_queues_run_in_process(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    env = {
        **lumiku_env,
        "LUMIKU_PLUGINS": "avatar_creator",
        "REDIS_ENABLED": "true",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
    }
    assert run_cli(env, "migrate").code == 0

    doctor = run_cli(env, "doctor")

    lines = lines_of(doctor.out)
    assert doctor.code == 1
    assert "⚠️ queues: in-process while Redis is away" in lines
    assert "⚠️ plugin avatar_creator 0.1.0: degraded (Redis is not answering)" in lines
