"""With Redis on, the plugin is running and its jobs go through the Redis broker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import redis

# A database of its own on the test server, so no other test's worker takes these jobs.
REDIS_DB = 13


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    base = redis_server.rsplit("/", 1)[0]
    url = f"{base}/{REDIS_DB}"
    yield url
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match="lumiku*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.mark.redis
def test_with_redis_the_plugin_runs_and_a_redis_worker_generates(
    app_client: Any, kit: Any, redis_url: str
) -> None:
    client = app_client(REDIS_ENABLED="true", REDIS_URL=redis_url)
    plugins = {p["id"]: p for p in client.get("/api/plugins").json()["plugins"]}
    health = client.get(kit.prefix + "/health").json()
    assert plugins["avatar_creator"]["state"] == "running"
    assert health["checks"]["queue"]["status"] == "ok"

    broker = kit.runtime(client).broker
    worker = dramatiq.Worker(broker, queues={"avatar_creator"}, worker_threads=1)
    worker.start()
    try:
        api = kit.sign_up(client)
        queued = api.generate(api.project()).json()
        done = api.wait_for(queued["generation"]["id"])
    finally:
        worker.stop()

    assert done["status"] == "completed", done
    assert api.balance() == {"balance": 90, "held": 0, "available": 90}
