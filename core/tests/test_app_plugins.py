"""Plugins inside a running app: isolation of failures, toggles, settings and Redis off.

Every app here is built by the ``make_client`` fixture: its own database (SQLite or
PostgreSQL, per ``LUMIKU_TEST_DATABASE``), storage and secret, Redis off unless a test
turns it on.
"""

from __future__ import annotations

import logging
import shutil
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from starlette.testclient import TestClient

from lumiku import Call, CheckResult, PluginContext, PluginSpec, get, hard, hookimpl, soft
from lumiku.plugins.discovery import Candidate
from lumiku.testing import OPERATOR_HEADERS
from lumiku.testing.app import runtime_of

MakeClient = Callable[..., TestClient]


def hooks(**impls: Callable[..., Any]) -> types.SimpleNamespace:
    """Return a hooks namespace holding ``impls`` marked as hook implementations."""
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in impls.items()})


def hello_routes(ctx: PluginContext) -> list[Any]:
    """Return one route answering with the plugin id."""

    def hello(_call: Call[None, None]) -> dict[str, str]:
        return {"plugin": ctx.id}

    return [get("/hello", hello)]


def plugin(plugin_id: str, **spec: Any) -> PluginSpec:
    """Return a spec with a ``/hello`` route and a passing health check, plus ``spec``."""
    impls = {
        "register_routes": hello_routes,
        "register_health_checks": lambda ctx: {"alive": lambda: True},
        **spec.pop("impls", {}),
    }
    namespace = hooks(**impls)
    namespace.plugin = plugin_id  # namespaces with equal attributes are one plugin to pluggy
    return PluginSpec(id=plugin_id, hooks=namespace, **spec)  # type: ignore[arg-type]


def plugins_by_id(client: TestClient) -> dict[str, dict[str, Any]]:
    response = client.get("/api/plugins", headers=OPERATOR_HEADERS)
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["plugins"]}


# -- isolation ---------------------------------------------------------------------------


def test_failing_plugins_do_not_stop_the_host_or_the_others(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    def import_fails() -> object:
        raise ModuleNotFoundError("No module named 'lkt_missing_sdk'")

    def routes_raise(ctx: PluginContext) -> list[Any]:
        raise RuntimeError("routes table is broken")

    def startup_raises(ctx: PluginContext) -> None:
        raise RuntimeError("cannot reach the model server")

    async def failing_coroutine() -> None:
        raise ConnectionError("warm-up failed")

    def async_startup_raises(ctx: PluginContext) -> Any:
        return failing_coroutine()

    def checks_raise(ctx: PluginContext) -> dict[str, Any]:
        raise KeyError("checks")

    caplog.set_level(logging.INFO)
    client = make_client(
        [
            Candidate("broken_import", "lkt-broken-import", import_fails),
            plugin("broken_routes", impls={"register_routes": routes_raise}),
            plugin("broken_startup", impls={"startup": startup_raises}),
            plugin("broken_async_startup", impls={"startup": async_startup_raises}),
            plugin("broken_checks", impls={"register_health_checks": checks_raise}),
            plugin("healthy"),
        ]
    )
    assert client.get("/health").status_code == 200
    assert client.get("/api/apps/healthy/hello").json() == {"plugin": "healthy"}
    assert client.get("/api/apps/broken-checks/hello").json() == {"plugin": "broken_checks"}
    found = plugins_by_id(client)
    assert {k: (v["state"], v["reasonCode"]) for k, v in found.items()} == {
        "broken_async_startup": ("failed", "startup_error"),
        "broken_checks": ("running", "ok"),
        "broken_import": ("failed", "import_error"),
        "broken_routes": ("failed", "hook_error"),
        "broken_startup": ("failed", "startup_error"),
        "healthy": ("running", "ok"),
    }
    # The reasons name the exception; its text stays in the log (it may hold anything).
    assert found["broken_import"]["reason"] == (
        "the import: raised ModuleNotFoundError; the server log has the message"
    )
    assert found["broken_routes"]["reason"] == (
        "plugin 'broken_routes', hook 'register_routes': raised RuntimeError; "
        "the server log has the message"
    )
    assert "raised RuntimeError" in found["broken_startup"]["reason"]
    assert "raised ConnectionError" in found["broken_async_startup"]["reason"]
    assert (
        "cannot reach the model server"
        not in client.get("/api/plugins", headers=OPERATOR_HEADERS).text
    )
    assert "cannot reach the model server" in caplog.text

    # A plugin that failed at startup keeps its mount: its routes say why, its health answers.
    gated = client.get("/api/apps/broken-startup/hello")
    assert gated.status_code == 503
    assert gated.json()["error"]["code"] == "PLUGIN_UNAVAILABLE"
    assert gated.json()["error"]["details"]["reasonCode"] == "startup_error"
    health = client.get("/api/apps/broken-startup/health", headers=OPERATOR_HEADERS)
    assert (health.status_code, health.json()["state"]) == (503, "failed")
    # A plugin whose routes could not be built has no mount; its health is still reported.
    assert client.get("/api/apps/broken-routes/hello").status_code == 404
    assert (
        client.get("/api/apps/broken-routes/health", headers=OPERATOR_HEADERS).json()["state"]
        == "failed"
    )
    assert (
        client.get("/api/apps/broken-import/health", headers=OPERATOR_HEADERS)
        .json()["reason"]
        .endswith("raised ModuleNotFoundError; the server log has the message")
    )

    checks = client.get("/api/apps/broken-checks/health", headers=OPERATOR_HEADERS)
    assert checks.status_code == 503
    hook_check = checks.json()["checks"]["hook"]
    assert (hook_check["status"], hook_check["detail"]) == (
        "down",
        "register_health_checks raised KeyError",
    )
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()
    assert detailed["plugins"]["healthy"]["status"] == "up"
    assert detailed["plugins"]["broken_checks"]["status"] == "down"

    metrics = client.get("/metrics", headers=OPERATOR_HEADERS).text
    assert 'lumiku_plugin_hook_errors_total{hook="register_routes",plugin="broken_routes"} 1.0' in (
        metrics
    )
    assert 'lumiku_plugin_hook_errors_total{hook="startup",plugin="broken_startup"} 1.0' in metrics
    assert "plugin 'broken_startup', hook 'startup'" in caplog.text
    assert "Plugin broken_import failed to import" in caplog.text
    assert "✅ Application started (" in caplog.text


def test_a_raising_shutdown_does_not_skip_the_other_shutdowns(
    make_app: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    stopped: list[str] = []

    def shutdown_raises(ctx: PluginContext) -> None:
        stopped.append(ctx.id)
        raise RuntimeError("close failed")

    def shutdown(ctx: PluginContext) -> None:
        stopped.append(ctx.id)

    app = make_app(
        [
            plugin("aaa", impls={"shutdown": shutdown_raises}),
            plugin("bbb", impls={"shutdown": shutdown}),
        ]
    )
    with TestClient(app) as client:
        assert client.get("/api/apps/bbb/hello").status_code == 200
    assert stopped == ["aaa", "bbb"]
    assert "plugin 'aaa', hook 'shutdown'" in caplog.text


def test_invalid_hookimpls_fail_their_plugin_and_the_app_boots(make_client: MakeClient) -> None:
    def register_routes(ctx: PluginContext, request: Any) -> list[Any]:
        return []

    client = make_client(
        [
            PluginSpec(id="bad_arg", hooks=hooks(register_routes=register_routes)),  # type: ignore[arg-type]
            PluginSpec(id="bad_name", hooks=hooks(register_route=hello_routes)),  # type: ignore[arg-type]
            plugin("good"),
        ]
    )
    found = plugins_by_id(client)
    for plugin_id, hook in (("bad_arg", "register_routes"), ("bad_name", "register_route")):
        assert (found[plugin_id]["state"], found[plugin_id]["reasonCode"]) == (
            "failed",
            "invalid_hook",
        )
        assert f"'{plugin_id}'" in found[plugin_id]["reason"]
        assert f"'{hook}'" in found[plugin_id]["reason"]
    assert "'request'" in found["bad_arg"]["reason"]
    assert client.get("/api/apps/good/hello").status_code == 200
    assert client.get("/api/apps/bad-name/hello").status_code == 404


# -- toggles -----------------------------------------------------------------------------


def test_a_plugin_disabled_by_env_is_not_started_and_its_routes_are_404(
    make_client: MakeClient,
) -> None:
    started: list[str] = []
    impls = {"startup": lambda ctx: started.append(ctx.id)}
    client = make_client(
        [plugin("photo_booth", impls=impls), plugin("other", impls=impls)],
        LUMIKU_DISABLE_PLUGINS="photo_booth",
    )
    found = plugins_by_id(client)
    assert found["photo_booth"]["state"] == "disabled"
    assert found["photo_booth"]["reason"] == "by env"
    assert found["photo_booth"]["reasonCode"] == "disabled_by_env"
    assert found["photo_booth"]["hooks"] == []
    assert found["other"]["state"] == "running"
    assert started == ["other"]
    response = client.get("/api/apps/photo-booth/hello")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/api/apps/other/hello").status_code == 200
    assert [app["id"] for app in client.get("/api/apps").json()["apps"]] == ["other"]
    health = client.get("/api/apps/photo-booth/health", headers=OPERATOR_HEADERS)
    assert (health.status_code, health.json()["state"]) == (200, "disabled")
    assert health.json()["status"] == "disabled"
    # Anonymous probes of a disabled plugin's health are a state report, not a server
    # error: 200, and nothing counted as a 5xx.
    runtime = runtime_of(client)
    for _ in range(3):
        anonymous = client.get("/api/apps/photo-booth/health")
        assert anonymous.status_code == 200
        assert anonymous.json() == {
            "plugin": "photo_booth",
            "status": "disabled",
            "state": "disabled",
        }
    samples = [
        sample
        for metric in runtime.metrics.http_latency.collect()
        for sample in metric.samples
        if sample.name.endswith("_count") and sample.labels["status"] == "5xx"
    ]
    assert samples == []


def test_the_allowlist_and_safe_mode(make_client: MakeClient) -> None:
    shipped = plugin("lkt_shipped")  # its distribution declares it bundled with Lumiku
    specs = [
        Candidate("lkt_shipped", "lkt-shipped", lambda: shipped, bundled=True),
        plugin("lkt_extra"),
        plugin("lkt_other"),
    ]
    allow = make_client(specs, LUMIKU_PLUGINS="lkt_extra")
    assert {k: v["reasonCode"] for k, v in plugins_by_id(allow).items()} == {
        "lkt_shipped": "not_in_allowlist",
        "lkt_extra": "ok",
        "lkt_other": "not_in_allowlist",
    }
    assert allow.get("/api/apps/lkt-other/hello").status_code == 404
    safe = make_client(specs, LUMIKU_SAFE_MODE="1")
    assert {k: v["state"] for k, v in plugins_by_id(safe).items()} == {
        "lkt_extra": "disabled",
        "lkt_other": "disabled",
        "lkt_shipped": "running",
    }
    assert safe.get("/api/apps/lkt-shipped/hello").status_code == 200
    assert safe.get("/api/apps/lkt-extra/hello").status_code == 404


@attrs.frozen
class GreeterSettings:
    """Settings of the greeter test plugin."""

    greeting: str
    repeat: int = 1


def greeter_routes(ctx: PluginContext) -> list[Any]:
    def greet(_call: Call[None, None]) -> dict[str, Any]:
        return {
            "text": " ".join([ctx.settings.greeting] * ctx.settings.repeat),
            "cost": ctx.cost("greet"),
        }

    return [get("/greet", greet)]


GREETER = PluginSpec(
    id="greeter",
    title="Greeter",
    settings=GreeterSettings,
    credits={"greet": 5, "wave": 1},
    hooks=hooks(register_routes=greeter_routes),  # type: ignore[arg-type]
)


def test_lumiku_toml_toggles_settings_and_credits_with_env_winning(
    make_client: MakeClient, lumiku_env: dict[str, str]
) -> None:
    Path(lumiku_env["LUMIKU_CONFIG"]).write_text(
        '[plugins]\ndisabled = ["lkt_off"]\n\n'
        '[plugins.greeter]\ngreeting = "halo"\nrepeat = 2\n\n'
        "[credits.greeter]\ngreet = 7\nwave = 2\n"
    )
    from_file = make_client([GREETER, plugin("lkt_off")])
    assert from_file.get("/api/apps/greeter/greet").json() == {"text": "halo halo", "cost": 7}
    off = plugins_by_id(from_file)["lkt_off"]
    assert (off["state"], off["reason"], off["reasonCode"]) == (
        "disabled",
        "by config",
        "disabled_by_config",
    )
    assert plugins_by_id(from_file)["greeter"]["credits"] == {"greet": 7, "wave": 2}

    with_env = make_client(
        [GREETER, plugin("lkt_off")],
        GREETER_REPEAT="3",
        GREETER_CREDITS_GREET="9",
        LUMIKU_DISABLE_PLUGINS="greeter",
    )
    assert plugins_by_id(with_env)["greeter"]["reason"] == "by env"
    assert plugins_by_id(with_env)["lkt_off"]["reason"] == "by config"
    env_only = make_client([GREETER], GREETER_REPEAT="3", GREETER_CREDITS_GREET="9")
    assert env_only.get("/api/apps/greeter/greet").json() == {"text": "halo halo halo", "cost": 9}
    apps = env_only.get("/api/apps").json()["apps"]
    assert apps == [
        {
            "id": "greeter",
            "title": "Greeter",
            "description": "",
            "routePrefix": "/api/apps/greeter",
            "state": "running",
            "credits": {"greet": 9, "wave": 2},
        }
    ]


def test_a_plugin_with_invalid_settings_is_disabled_naming_the_variable(
    make_client: MakeClient,
) -> None:
    client = make_client([GREETER, plugin("fine")], GREETER_GREETING="hi", GREETER_REPEAT="often")
    record = plugins_by_id(client)["greeter"]
    assert (record["state"], record["reasonCode"]) == ("disabled", "missing_config")
    assert "GREETER_REPEAT" in record["reason"]
    assert client.get("/api/apps/fine/hello").status_code == 200


def test_the_app_list_is_sorted_by_title_and_shows_only_serving_plugins(
    make_client: MakeClient,
) -> None:
    client = make_client(
        [
            plugin("zzz_first", title="Alpha"),
            plugin("aaa_last", title="beta"),
            plugin("mmm", title="Alpha"),
            plugin("hidden", title="Aardvark"),
            plugin("slow", title="Gamma", requires=(soft("redis"),)),
        ],
        LUMIKU_DISABLE_PLUGINS="hidden",
    )
    apps = client.get("/api/apps").json()["apps"]
    assert [(a["id"], a["state"]) for a in apps] == [
        ("mmm", "running"),
        ("zzz_first", "running"),
        ("aaa_last", "running"),
        ("slow", "degraded"),
    ]
    assert [
        p["id"] for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    ] == [
        "aaa_last",
        "hidden",
        "mmm",
        "slow",
        "zzz_first",
    ]


def test_introspection_lists_hooks_and_routes(make_client: MakeClient) -> None:
    client = make_client([plugin("lkt_intro", version="2.0.1", impls={"startup": lambda: None})])
    record = plugins_by_id(client)["lkt_intro"]
    assert record["version"] == "2.0.1"
    assert record["routePrefix"] == "/api/apps/lkt-intro"
    assert record["hooks"] == ["register_health_checks", "register_routes", "startup"]
    assert record["routes"] == ["GET /api/apps/lkt-intro/health", "GET /api/apps/lkt-intro/hello"]


def test_a_plugin_without_hooks_is_running_with_a_health_route(make_client: MakeClient) -> None:
    client = make_client([PluginSpec(id="bare")])
    assert plugins_by_id(client)["bare"]["state"] == "running"
    health = client.get("/api/apps/bare/health", headers=OPERATOR_HEADERS)
    assert (health.status_code, health.json()["status"]) == (200, "up")


def test_each_loaded_plugin_gets_a_storage_folder_made_from_its_id(
    make_client: MakeClient, lumiku_env: dict[str, str]
) -> None:
    def files_routes(ctx: PluginContext) -> list[Any]:
        def store(_call: Call[None, None]) -> dict[str, Any]:
            key = ctx.storage.put(b"data", suffix=".png")
            return {"key": key, "publicUrl": ctx.host.public_url, "env": ctx.host.environment}

        return [get("/store", store)]

    client = make_client(
        [
            plugin(
                "lkt_files", route_prefix="/api/elsewhere", impls={"register_routes": files_routes}
            ),
            plugin("lkt_off"),
        ],
        LUMIKU_DISABLE_PLUGINS="lkt_off",
        LUMIKU_PUBLIC_URL="https://lumiku.example",
    )
    root = Path(lumiku_env["LUMIKU_STORAGE_DIR"])
    assert sorted(path.name for path in root.iterdir() if path.is_dir()) == ["lkt-files"]
    body = client.get("/api/elsewhere/store").json()
    assert body["key"].startswith("lkt-files/")  # from the id, not the route prefix
    assert (body["publicUrl"], body["env"]) == ("https://lumiku.example", "test")
    assert (
        client.get("/health/detailed", headers=OPERATOR_HEADERS).json()["checks"]["storage"][
            "status"
        ]
        == "ok"
    )
    shutil.rmtree(root / "lkt-files")  # the health check names the missing folder
    storage = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()["checks"]["storage"]
    assert (storage["status"], "lkt-files" in storage["detail"]) == ("down", True)


# -- Redis off ---------------------------------------------------------------------------


def test_without_redis_soft_requirements_degrade_and_hard_ones_disable(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client = make_client(
        [
            plugin("queued_soft", requires=("database", soft("redis"))),
            plugin("queued_hard", requires=(hard("redis"),)),
            plugin("no_queue"),
        ],
        REDIS_ENABLED="false",
    )
    assert client.get("/health").status_code == 200
    assert client.get("/health/liveness").status_code == 200
    assert client.get("/health/readiness").status_code == 200
    found = plugins_by_id(client)
    assert (found["queued_soft"]["state"], found["queued_soft"]["reasonCode"]) == (
        "degraded",
        "redis_unavailable",
    )
    assert "Redis" in found["queued_soft"]["reason"]
    assert (found["queued_hard"]["state"], found["queued_hard"]["reasonCode"]) == (
        "disabled",
        "redis_unavailable",
    )
    assert found["no_queue"]["state"] == "running"
    assert client.get("/api/apps/queued-soft/hello").status_code == 200
    unavailable = client.get("/api/apps/queued-hard/hello")
    assert unavailable.status_code == 503
    assert unavailable.json()["error"]["details"]["reasonCode"] == "redis_unavailable"
    soft_health = client.get("/api/apps/queued-soft/health", headers=OPERATOR_HEADERS).json()
    assert (soft_health["status"], soft_health["state"]) == ("degraded", "degraded")
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS)
    assert detailed.status_code == 200
    body = detailed.json()
    assert body["checks"]["redis"]["status"] == "degraded"
    assert (body["checks"]["queues"]["status"], body["checks"]["queues"]["detail"]) == (
        "ok",
        "in-process",
    )
    assert body["plugins"]["queued_hard"]["state"] == "disabled"
    assert "⚠️ Redis is disabled: background jobs run in this process" in caplog.text
    assert "⚠️ Plugin queued_soft: degraded (Redis" in caplog.text


def test_a_plugin_health_check_result_shapes(make_client: MakeClient) -> None:
    def slow_check() -> CheckResult:
        return CheckResult("degraded", "model cache cold")

    client = make_client(
        [
            plugin(
                "checked",
                impls={
                    "register_health_checks": lambda ctx: {
                        "bool_ok": lambda: True,
                        "cold": slow_check,
                        "bool_down": lambda: False,
                    }
                },
            )
        ]
    )
    response = client.get("/api/apps/checked/health", headers=OPERATOR_HEADERS)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["bool_ok"]["status"] == "ok"
    assert body["checks"]["cold"]["detail"] == "model cache cold"
    assert body["checks"]["bool_down"]["status"] == "down"
