"""A real Socket.IO client on ``/pose-generator`` follows its own generation, and only it.

The app is served by uvicorn on a loopback port; the client connects over WebSocket with
its token in ``auth.token``. Redis off: the web process runs the job and emits directly.
Redis on: a Dramatiq worker consumes the Redis queue and its events travel through Redis.
"""

from __future__ import annotations

import queue
import time
from typing import Any

import dramatiq
import httpx
import pytest

from lumiku.testing import listening, runtime_of, serve_in_thread

NS = "/pose-generator"


def events_until_end(received: queue.Queue[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Return the events up to the generation's last one (completed or failed)."""
    events: list[tuple[str, Any]] = []
    while True:
        event, data = received.get(timeout=30)
        events.append((event, data))
        if event in ("generation:completed", "generation:failed"):
            return events


def follow_a_generation(url: str, kit: Any, poses: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        owner = kit.sign_up(http, "owner", credits=0)
        other = kit.sign_up(http, "other")
        project = owner.project()
        with listening(url, owner.token, NS) as mine, listening(url, other.token, NS) as theirs:
            queued = owner.gallery(project, poses)
            assert queued.status_code == 202, queued.text
            generation_id = queued.json()["generationId"]
            events = events_until_end(mine)
            time.sleep(0.3)  # anything meant for the owner has arrived by now
            assert theirs.empty()

    names = [name for name, _ in events]
    assert names == ["generation:started"] + ["generation:progress"] * 3 + ["generation:completed"]
    assert all(data["generationId"] == generation_id for _, data in events)
    progress = [data for name, data in events if name == "generation:progress"]
    assert progress == [
        {"generationId": generation_id, "completed": n, "failed": 0, "total": 3, "percentage": p}
        for n, p in ((1, 33), (2, 67), (3, 100))
    ]
    assert events[-1][1]["status"] == "completed"
    assert events[-1][1]["creditsCharged"] == 90


def test_the_owner_receives_started_progress_and_completed_redis_off(
    make_app: Any, kit: Any
) -> None:
    app = make_app([kit.spec], **kit.small)
    with serve_in_thread(app.state.realtime.wrap(app)) as url:
        follow_a_generation(url, kit, kit.poses(app, 3))


@pytest.mark.redis
def test_the_owner_receives_its_events_from_a_redis_worker(
    make_app: Any, kit: Any, private_redis: Any
) -> None:
    server = private_redis()
    app = make_app([kit.spec], REDIS_ENABLED="true", REDIS_URL=server.url, **kit.small)
    with serve_in_thread(app.state.realtime.wrap(app)) as url:
        broker = runtime_of(app).broker
        worker = dramatiq.Worker(broker, queues={"pose_generator"}, worker_threads=1)
        worker.start()
        try:
            follow_a_generation(url, kit, kit.poses(app, 3))
        finally:
            worker.stop()
