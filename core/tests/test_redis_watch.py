"""Redis going away and coming back at runtime: plugins flip without a restart.

Each test runs a redis-server of its own on a free port, so stopping it touches nobody else.
"""

from __future__ import annotations

import logging
import time
import types
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from lumiku import Call, PluginContext, PluginSpec, get, hard, hookimpl, soft
from lumiku.redis_watch import RedisWatch
from lumiku.testing import OPERATOR_HEADERS, define_plugin

pytestmark = pytest.mark.redis


def hello_routes(ctx: PluginContext) -> list[Any]:
    def hello(_call: Call[None, None]) -> dict[str, Any]:
        return {"plugin": ctx.id, "redis": ctx.capabilities.redis}

    return [get("/hello", hello)]


def spec(plugin_id: str, *requires: Any) -> PluginSpec:
    return define_plugin(plugin_id, requires=requires, register_routes=hello_routes)


SPECS = [
    spec("queue_soft", soft("redis")),
    spec("queue_hard", hard("redis")),
    spec("no_redis"),
]


def watch_of(runtime: Any, *, interval: float = 5.0) -> RedisWatch:
    """Return a watch over the app's Redis, registry and metrics."""
    return RedisWatch(
        runtime.settings.redis.url, runtime.registry, runtime.metrics, interval=interval
    )


def states(client: TestClient) -> dict[str, tuple[str, str]]:
    return {
        p["id"]: (p["state"], p["reasonCode"])
        for p in client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    }


def test_plugins_follow_redis_down_and_up_without_a_restart(
    make_client: Callable[..., TestClient],
    private_redis: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    server = private_redis()
    client = make_client(SPECS, REDIS_ENABLED="true", REDIS_URL=server.url)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert "✅ Redis connected successfully" in caplog.text
    assert states(client) == {
        "no_redis": ("running", "ok"),
        "queue_hard": ("running", "ok"),
        "queue_soft": ("running", "ok"),
    }
    assert client.get("/api/apps/queue-soft/hello").json() == {
        "plugin": "queue_soft",
        "redis": True,
    }
    assert (
        client.get("/health/detailed", headers=OPERATOR_HEADERS).json()["checks"]["redis"]["status"]
        == "ok"
    )

    server.stop()
    watch = watch_of(runtime)
    assert watch.check_now() is False
    assert states(client) == {
        "no_redis": ("running", "ok"),
        "queue_hard": ("disabled", "redis_unavailable"),
        "queue_soft": ("degraded", "redis_unavailable"),
    }
    assert client.get("/health").status_code == 200
    assert client.get("/api/apps/queue-soft/hello").json() == {
        "plugin": "queue_soft",
        "redis": False,
    }
    gated = client.get("/api/apps/queue-hard/hello")
    assert gated.status_code == 503
    assert gated.json()["error"]["code"] == "PLUGIN_UNAVAILABLE"
    assert client.get("/api/apps/no-redis/hello").status_code == 200
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()
    # Redis is a soft dependency: the node says degraded (200), not down (503).
    assert detailed["status"] == "degraded"
    assert client.get("/health").json() == {"status": "degraded"}
    assert detailed["checks"]["redis"] == {"status": "degraded", "detail": "not answering"} | {
        "latencyMs": detailed["checks"]["redis"]["latencyMs"]
    }
    assert "lumiku_redis_up 0.0" in client.get("/metrics", headers=OPERATOR_HEADERS).text
    assert "❌ Redis is not answering" in caplog.text
    assert "⚠️ Plugin queue_hard is now disabled (Redis" in caplog.text

    server.start()
    assert watch.check_now() is True
    assert states(client) == {
        "no_redis": ("running", "ok"),
        "queue_hard": ("running", "ok"),
        "queue_soft": ("running", "ok"),
    }
    assert client.get("/api/apps/queue-hard/hello").json()["redis"] is True
    assert "lumiku_redis_up 1.0" in client.get("/metrics", headers=OPERATOR_HEADERS).text


def test_a_running_watch_notices_changes_on_its_own(
    make_app: Callable[..., Any], private_redis: Callable[..., Any]
) -> None:
    server = private_redis()
    app = make_app(SPECS, REDIS_ENABLED="true", REDIS_URL=server.url)
    runtime = app.state.runtime
    with TestClient(app) as client:
        # The lifespan's watch pings every 5 s; a second one with a short interval is quicker.
        watch = watch_of(runtime, interval=0.05)
        server.stop()
        _wait_for(lambda: not runtime.redis_up, watch)
        assert states(client)["queue_soft"] == ("degraded", "redis_unavailable")
        server.start()
        _wait_for(lambda: runtime.redis_up, watch)
        assert states(client)["queue_soft"] == ("running", "ok")


def _wait_for(condition: Callable[[], bool], watch: RedisWatch) -> None:
    import asyncio

    async def poll() -> None:
        task = asyncio.create_task(watch.run())
        try:
            for _ in range(200):
                if condition():
                    return
                await asyncio.sleep(0.05)
            raise AssertionError("the watch did not notice the change in 10 s")
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(poll())


def test_redis_configured_but_down_at_startup_degrades(
    make_client: Callable[..., TestClient], private_redis: Callable[..., Any]
) -> None:
    server = private_redis()
    server.stop()  # configured, but not answering when the app starts
    client = make_client(SPECS, REDIS_ENABLED="true", REDIS_URL=server.url)
    assert client.get("/health").status_code == 200
    assert states(client) == {
        "no_redis": ("running", "ok"),
        "queue_hard": ("disabled", "redis_unavailable"),
        "queue_soft": ("degraded", "redis_unavailable"),
    }
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS)
    # A soft dependency: degraded and 200, so a load balancer keeps the node.
    assert detailed.status_code == 200
    assert detailed.json()["status"] == "degraded"
    assert detailed.json()["checks"]["redis"]["status"] == "degraded"
    server.start()
    watch_of(client.app.state.runtime).check_now()  # type: ignore[attr-defined]
    assert states(client)["queue_hard"] == ("running", "ok")


def test_a_flap_leaves_a_plugin_missing_soft_config_as_a_boot_would(
    make_client: Callable[..., TestClient], private_redis: Callable[..., Any]
) -> None:
    specs = [spec("keyed", soft("redis"), soft("config:LKT_FLAP_KEY"))]
    server = private_redis()
    client = make_client(specs, REDIS_ENABLED="true", REDIS_URL=server.url)
    watch = watch_of(client.app.state.runtime)  # type: ignore[attr-defined]

    def view(of: TestClient) -> tuple[str, str, str]:
        found = of.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"][0]
        return found["state"], found["reasonCode"], found["reason"]

    booted_up = view(client)
    assert booted_up == ("degraded", "missing_config", "LKT_FLAP_KEY is not set")
    server.stop()
    booted_down = view(make_client(specs, REDIS_ENABLED="true", REDIS_URL=server.url))
    assert booted_down == (
        "degraded",
        "redis_unavailable",
        "Redis is not answering; LKT_FLAP_KEY is not set",
    )
    assert watch.check_now() is False
    assert view(client) == booted_down
    server.start()
    assert watch.check_now() is True
    assert view(client) == booted_up
    assert client.get("/api/apps/keyed/hello").json() == {"plugin": "keyed", "redis": True}


def test_a_plugin_that_comes_up_with_redis_is_started_then(
    make_app: Callable[..., Any], private_redis: Callable[..., Any]
) -> None:
    started: list[str] = []
    namespace = types.SimpleNamespace(
        register_routes=hookimpl(hello_routes),
        startup=hookimpl(lambda ctx: started.append(ctx.id)),
        name="queue_only",
    )
    server = private_redis()
    server.stop()  # configured, but not answering when the app starts
    app = make_app(
        [PluginSpec(id="queue_only", requires=(hard("redis"),), hooks=namespace)],  # type: ignore[arg-type]
        REDIS_ENABLED="true",
        REDIS_URL=server.url,
    )
    app.state.watches.redis.interval = 0.05
    with TestClient(app) as client:
        assert states(client)["queue_only"] == ("disabled", "redis_unavailable")
        assert started == []
        server.start()
        for _ in range(200):
            if started:
                break
            time.sleep(0.05)
        assert started == ["queue_only"]
        assert client.get("/api/apps/queue-only/hello").json()["redis"] is True


def test_a_wrong_password_is_reported_as_such_not_as_silence(
    make_client: Callable[..., TestClient],
    private_redis: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = private_redis(password="right-password")
    wrong = server.url.replace(":right-password@", ":wrong-password@")
    client = make_client(SPECS, REDIS_ENABLED="true", REDIS_URL=wrong)
    refused = "refused the password (authentication failed)"
    assert f"❌ Redis {refused}: plugins that need it are degraded" in caplog.text
    assert "not answering" not in caplog.text
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()
    assert detailed["checks"]["redis"]["status"] == "degraded"
    assert detailed["checks"]["redis"]["detail"] == refused
    plugins = client.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    assert {p["id"]: p["reason"] for p in plugins}["queue_hard"] == f"Redis {refused}"

    # Stopped, it is silence again, and the reasons follow.
    server.stop()
    watch = watch_of(client.app.state.runtime)  # type: ignore[attr-defined]
    assert watch.check_now() is False
    detailed = client.get("/health/detailed", headers=OPERATOR_HEADERS).json()
    assert detailed["checks"]["redis"]["detail"] == "not answering"
    assert "❌ Redis is not answering" in caplog.text


def test_doctor_says_a_wrong_password_was_refused(
    run_cli: Callable[..., Any], lumiku_env: dict[str, str], private_redis: Callable[..., Any]
) -> None:
    server = private_redis(password="right-password")
    wrong = server.url.replace(":right-password@", ":wrong-password@")
    env = {**lumiku_env, "LUMIKU_PLUGINS": "", "REDIS_ENABLED": "true", "REDIS_URL": wrong}
    out = run_cli(env, "doctor").out
    redis_lines = [line for line in out.splitlines() if "Redis" in line]
    assert any(
        line.startswith("❌ Redis at ")
        and line.endswith(" refused the password (authentication failed)")
        for line in redis_lines
    ), out
    assert "wrong-password" not in out


def test_when_redis_returns_the_next_job_goes_to_it_at_once(
    make_app: Callable[..., Any], private_redis: Callable[..., Any]
) -> None:
    """Failures while Redis was away opened the broker's breaker; the watch's ping proves
    Redis answers again, so the breaker closes and jobs stop running in process at once
    (not up to 5 s later, when the breaker would let a probe through)."""
    import redis

    from lumiku.redis_clients import breaker_of

    server = private_redis()
    app = make_app(SPECS, REDIS_ENABLED="true", REDIS_URL=server.url)
    app.state.watches.redis.interval = 0.05
    runtime = app.state.runtime
    client = runtime.broker.client
    breaker = breaker_of(client)
    assert breaker is not None
    with TestClient(app):
        server.stop()
        with pytest.raises(redis.ConnectionError):
            client.ping()  # an enqueue meanwhile: it opens the breaker
        assert breaker.is_open
        for _ in range(200):
            if not runtime.redis_up:
                break
            time.sleep(0.05)
        server.start()
        for _ in range(200):
            if runtime.redis_up and not breaker.is_open:
                break
            time.sleep(0.05)
        assert runtime.redis_up
        assert not breaker.is_open
        assert client.ping() is True
