"""Redis lost at runtime: the plugin is degraded, not down. Generations run in the web
process, their events reach this node's sockets, health says so; when Redis comes back,
jobs go through it again. Every generation is charged exactly."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lumiku.testing import OPERATOR_HEADERS, listening, runtime_of, serve_in_thread
from lumiku_avatar_creator.plugin import spec as avatar_spec

from .test_realtime import NS, events_until_end


def plugin_state(http: httpx.Client) -> str:
    plugins = http.get("/api/plugins", headers=OPERATOR_HEADERS).json()["plugins"]
    return str({p["id"]: p for p in plugins}["pose_generator"]["state"])


def queue_check(http: httpx.Client, prefix: str) -> dict[str, Any]:
    checks = http.get(f"{prefix}/health", headers=OPERATOR_HEADERS).json()["checks"]
    return dict(checks["queue"])


@pytest.mark.redis
def test_losing_and_regaining_redis_switches_how_jobs_run(
    make_app: Any, kit: Any, private_redis: Any, start_worker: Any
) -> None:
    server = private_redis()
    env = {"REDIS_ENABLED": "true", "REDIS_URL": server.url, **kit.small}
    app = make_app([kit.spec, avatar_spec], **env)
    runtime = runtime_of(app)
    poses = kit.poses(app, 2)
    with (
        serve_in_thread(app.state.realtime.wrap(app), loop="asyncio") as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        # A worker process consumes Redis (one Dramatiq worker per process: the web
        # process's own runs the jobs queued while Redis is away).
        worker = start_worker({**env, "POSE_GENERATOR_PROVIDER": "counting"})
        try:
            api = kit.sign_up(http)
            runtime.ledger.grant(api.user_id, 100, "test credits", f"test:{api.user_id}")
            project = api.project()

            def generate() -> dict[str, Any]:
                with listening(url, api.token, NS) as events:
                    queued = api.gallery(project, poses)
                    assert queued.status_code == 202, queued.text
                    names = [name for name, _ in events_until_end(events)]
                assert names[-1] == "generation:completed", names
                return api.wait_for(queued.json()["generationId"])

            assert plugin_state(http) == "running"
            assert generate()["status"] == "completed"

            server.stop()
            app.state.watches.redis.check_now()
            assert plugin_state(http) == "degraded"
            check = queue_check(http, kit.prefix)
            assert check["status"] == "degraded"
            assert check["detail"].startswith("in-process (Redis is off)")
            in_process = generate()
            assert in_process["status"] == "completed"

            server.start()
            app.state.watches.redis.check_now()
            assert plugin_state(http) == "running"
            assert queue_check(http, kit.prefix)["status"] == "ok"
            assert generate()["status"] == "completed"
        finally:
            worker.kill()
        assert api.balance() == {"balance": 200 - 3 * 60, "held": 0, "available": 20}
