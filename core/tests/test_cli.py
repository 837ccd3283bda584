"""The ``lumiku`` command line: ``doctor``, ``plugins list|info [--json]`` and settings errors.

Commands run in process (``run_cli``) with exactly the environment each test gives them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lumiku.cli.main import build_parser

MARKS = ("✅", "⚠️", "❌")
BROKEN_SPEC = """
from lumiku import PluginSpec

import lkt_vendor_sdk_that_is_not_installed  # noqa: F401

spec = PluginSpec(id="@ID@")
"""


def marks(output: str) -> list[str]:
    lines = [line for line in output.splitlines() if line.strip()]
    for line in lines:
        assert line.startswith(MARKS), f"not a checklist line: {line!r}"
    return lines


def test_doctor_fails_until_the_migrations_are_applied(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    env = {**lumiku_env, "LUMIKU_PLUGINS": ""}
    before = run_cli(env, "doctor")
    assert before.code == 1
    lines = marks(before.out)
    assert "✅ settings valid (environment: test)" in lines
    assert any(line.startswith("✅ database reachable") for line in lines)
    assert any(
        line.startswith("❌ migrations of core not applied") and "lumiku migrate" in line
        for line in lines
    )
    assert any(line.startswith("⚠️ Redis disabled") for line in lines)

    assert run_cli(env, "migrate").code == 0
    after = run_cli(env, "doctor")
    assert after.code == 0, after.out
    lines = marks(after.out)
    assert not [line for line in lines if line.startswith("❌")]
    assert any(line.startswith("✅ migrations of core at head") for line in lines)
    assert any(re.match(r"✅ storage .*: ", line) for line in lines)


def test_doctor_reports_each_plugin_and_fails_on_a_failed_one(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], install_plugin: Callable[..., Any]
) -> None:
    good = install_plugin()
    broken = install_plugin(spec_source=BROKEN_SPEC, migrations=False)
    env = {**lumiku_env, "LUMIKU_PLUGINS": f"{good.id},{broken.id}"}
    assert run_cli(env, "migrate").code == 0
    result = run_cli(env, "doctor")
    assert result.code == 1
    lines = marks(result.out)
    assert f"✅ plugin {good.id} 1.2.3: running" in lines
    assert f"✅ migrations of {good.id} at head ({good.id}_0002)" in lines
    failed = [line for line in lines if line.startswith(f"❌ plugin {broken.id}")]
    assert len(failed) == 1
    assert "lkt_vendor_sdk_that_is_not_installed" in failed[0]

    # Disabling the broken plugin keeps its code out: it is not even imported.
    disabled = run_cli({**env, "LUMIKU_DISABLE_PLUGINS": broken.id}, "doctor")
    assert disabled.code == 0, disabled.out
    assert f"⚠️ plugin {broken.id} 1.2.3: disabled (by env)" in marks(disabled.out)
    safe = run_cli({**lumiku_env, "LUMIKU_SAFE_MODE": "1"}, "plugins", "list", "--json")
    states = {item["id"]: item["reasonCode"] for item in json.loads(safe.out)}
    assert states[broken.id] == states[good.id] == "safe_mode"


def test_safe_mode_keeps_the_plugins_whose_distribution_declares_them_bundled(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], install_plugin: Callable[..., Any]
) -> None:
    shipped = install_plugin(bundled=True, migrations=False)
    extra = install_plugin(migrations=False)
    safe = run_cli({**lumiku_env, "LUMIKU_SAFE_MODE": "1"}, "plugins", "list", "--json")
    states = {item["id"]: item["reasonCode"] for item in json.loads(safe.out)}
    assert (states[shipped.id], states[extra.id]) == ("ok", "safe_mode")
    # The three plugins of this repository declare themselves bundled too.
    assert {"avatar_creator", "pose_generator"} <= {
        k for k, v in states.items() if v != "safe_mode"
    }


def test_doctor_fails_when_redis_or_storage_do_not_work(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], tmp_path: Path
) -> None:
    from lumiku.testing.server import free_port

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {
        **lumiku_env,
        "LUMIKU_PLUGINS": "",
        "REDIS_ENABLED": "true",
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "LUMIKU_STORAGE_DIR": str(blocker / "uploads"),
    }
    assert run_cli(env, "migrate").code == 0
    result = run_cli(env, "doctor")
    assert result.code == 1
    lines = marks(result.out)
    assert any(
        line.startswith("❌ Redis at redis://127.0.0.1:") and line.endswith(" is not answering")
        for line in lines
    )
    assert any(line.startswith("❌ storage") for line in lines)


@pytest.mark.redis
def test_doctor_passes_with_redis_answering(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], private_redis: Callable[..., Any]
) -> None:
    server = private_redis(password="doctor-redis-pw")
    env = {**lumiku_env, "LUMIKU_PLUGINS": "", "REDIS_ENABLED": "true", "REDIS_URL": server.url}
    assert run_cli(env, "migrate").code == 0
    result = run_cli(env, "doctor")
    assert result.code == 0, result.out
    assert f"✅ Redis answering (redis://:***@127.0.0.1:{server.port}/0)" in marks(result.out)
    assert "doctor-redis-pw" not in result.out + result.err


def test_doctor_lists_every_settings_problem(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    env = {
        **lumiku_env,
        "LUMIKU_ENV": "production",
        "JWT_SECRET": "too-short",
        "REDIS_ENABLED": "",
        "PORT": "http",
    }
    result = run_cli(env, "doctor")
    assert result.code == 1
    lines = marks(result.out)
    # The core's problems, the plugins' that stop a production startup, then the plugins
    # disabled for their configuration: one run shows everything to fix.
    assert all(line.startswith(("❌ setting ", "⚠️ plugin ")) for line in lines)
    named = {line.split()[2].rstrip(":") for line in lines if line.startswith("❌")}
    assert {"JWT_SECRET", "CORS_ORIGIN", "PORT", "LUMIKU_PUBLIC_URL"} <= named


def test_other_commands_exit_2_on_invalid_settings(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    result = run_cli({**lumiku_env, "PORT": "eighty", "LUMIKU_ENV": "nowhere"}, "plugins")
    assert result.code == 2
    assert "❌ 2 settings need fixing" in result.err
    assert "PORT: must be a whole number from 1 to 65535, got 'eighty'" in result.err
    assert "LUMIKU_ENV: must be development, production or test" in result.err


def test_plugins_list_and_info(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], install_plugin: Callable[..., Any]
) -> None:
    good = install_plugin(spec_extra=', credits={"render": 4}, requires=("database",)')
    broken = install_plugin(spec_source=BROKEN_SPEC, migrations=False)
    env = {**lumiku_env, "LUMIKU_DISABLE_PLUGINS": "avatar_creator"}

    before = run_cli(env, "plugins", "list", "--json")
    pending = {item["id"]: item for item in json.loads(before.out)}[good.id]
    assert (pending["state"], pending["reasonCode"]) == ("migrations_pending", "migrations_pending")
    assert pending["reason"] == "its database migrations are not applied: run `lumiku migrate`"
    assert run_cli(env, "migrate").code == 0

    listing = run_cli(env, "plugins", "list")
    assert listing.code == 0, listing.err
    rows = {line.split()[0]: line for line in listing.out.splitlines()}
    assert re.fullmatch(rf"{good.id}\s+1\.2\.3\s+running", rows[good.id])
    # Not importable, but its distribution tells the version.
    assert re.match(rf"{broken.id}\s+1\.2\.3\s+failed \(ModuleNotFoundError: ", rows[broken.id])
    assert re.fullmatch(r"avatar_creator\s+\S+\s+disabled \(by env\)", rows["avatar_creator"])
    assert run_cli(env, "plugins").out == listing.out
    assert list(rows) == sorted(rows)

    as_json = run_cli(env, "plugins", "list", "--json")
    data = {item["id"]: item for item in json.loads(as_json.out)}
    assert data[good.id] == {
        "id": good.id,
        "title": "Generated Plugin",
        "version": "1.2.3",
        "distribution": good.distribution,
        "state": "running",
        "reason": "",
        "reasonCode": "ok",
        "routePrefix": good.prefix,
        "hooks": ["register_health_checks", "register_migrations", "register_routes"],
        "routes": [],
        "credits": {"render": 4},
    }
    assert data[broken.id]["reasonCode"] == "import_error"
    assert data["avatar_creator"]["reasonCode"] == "disabled_by_env"

    info = run_cli(env, "plugins", "info", good.id)
    assert info.code == 0
    assert f"  prefix:  {good.prefix}" in info.out
    assert "  title:   Generated Plugin" in info.out
    assert "  requires: database (hard)" in info.out
    assert "  credits: {'render': 4}" in info.out
    info_json = json.loads(run_cli(env, "plugins", "info", good.id, "--json").out)
    assert info_json["id"] == good.id

    missing = run_cli(env, "plugins", "info", "no_such_plugin")
    assert (missing.code, missing.err.strip()) == (1, "❌ no plugin 'no_such_plugin' is installed")
    assert run_cli(env, "plugins", "info").code == 2


def test_the_parser_has_the_core_commands() -> None:
    parser = build_parser(with_plugins=False)
    commands = next(action for action in parser._actions if action.dest == "command")
    assert {"serve", "worker", "migrate", "plugins", "doctor", "users", "credits"} <= set(
        commands.choices  # type: ignore[arg-type]
    )
    serve = parser.parse_args(["serve", "--host", "127.0.0.2", "--port", "8000", "--workers", "3"])
    assert (serve.host, serve.port, serve.workers) == ("127.0.0.2", 8000, 3)


def test_worker_refuses_to_start_without_redis(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str]
) -> None:
    result = run_cli(lumiku_env, "worker")
    assert result.code == 2
    assert "lumiku worker needs Redis" in result.err


def test_a_plugin_required_in_production_stops_serve_worker_and_doctor_until_configured(
    install_plugin: Callable[..., Any],
    run_cli: Callable[..., Any],
    lumiku_env: dict[str, str],
    make_app: Callable[..., Any],
) -> None:
    from lumiku.errors import ConfigurationError

    plugin = install_plugin(
        spec_extra=', requires=("config:LKT_SHOP_KEY", "config:LKT_SHOP_ID"), '
        "required_in_production=True",
        migrations=False,
    )
    production = {
        **lumiku_env,
        "LUMIKU_ENV": "production",
        "LUMIKU_PLUGINS": plugin.id,
        "CORS_ORIGIN": "https://app.example.org",
        "LUMIKU_PUBLIC_URL": "https://api.example.org",
        "REDIS_ENABLED": "false",
        "JWT_SECRET": "Zq8#vN2$wLp5@kRt9^mXy3&bHc7!dFg4",
    }
    for command in ("serve", "worker"):
        result = run_cli(production, command)
        assert result.code == 2, result.err
        assert f"plugin {plugin.id}: LKT_SHOP_KEY and LKT_SHOP_ID are not set" in result.err
    doctor = run_cli(production, "doctor")
    assert doctor.code == 1
    assert f"❌ plugin {plugin.id} 1.2.3: disabled" in doctor.out
    with pytest.raises(ConfigurationError, match="LKT_SHOP_KEY and LKT_SHOP_ID are not set"):
        make_app(None, **{k: v for k, v in production.items() if lumiku_env.get(k) != v})
    # Outside production (or turned off) the plugin is only disabled.
    assert run_cli({**production, "LUMIKU_ENV": "development"}, "plugins").code == 0
    turned_off = {**production, "LUMIKU_DISABLE_PLUGINS": plugin.id}
    assert "❌ plugin" not in run_cli(turned_off, "doctor").out


def test_doctor_checks_the_s3_bucket(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], s3_env: dict[str, str]
) -> None:
    env = {**lumiku_env, **s3_env, "LUMIKU_PLUGINS": ""}
    assert run_cli(env, "migrate").code == 0

    reachable = run_cli(env, "doctor")
    missing = run_cli({**env, "LUMIKU_S3_BUCKET": "no-such-bucket-here"}, "doctor")

    assert reachable.code == 0, reachable.out
    bucket = s3_env["LUMIKU_S3_BUCKET"]
    assert f"✅ storage S3 bucket {bucket}: S3 bucket reachable" in marks(reachable.out)
    assert missing.code == 1
    assert any(
        line.startswith("❌ storage S3 bucket no-such-bucket-here: S3 bucket not usable")
        for line in marks(missing.out)
    )
