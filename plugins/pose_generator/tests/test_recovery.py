"""A worker process killed mid-generation: recovery finishes it without redoing poses.

A real worker process (the app's runtime on Redis, a slow provider logging each render)
is killed with SIGKILL after a few poses. Once its lease runs out, the core's held-job
recovery puts the generation back in the queue; a new worker process finishes it, skipping
the poses already made. Every pose finished before the kill was rendered once, and the
credits are exact: 30 per pose made, nothing held.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.testing import define_plugin, runtime_of

HERE = Path(__file__).parent
LEASE = "2"


def until(condition: Callable[[], bool], timeout: float, every: Callable[[], Any] = int) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not done after {timeout} s")
        every()
        time.sleep(0.1)


@pytest.mark.redis
def test_a_killed_worker_is_recovered_without_rendering_finished_poses_again(
    make_client: Any, kit: Any, private_redis: Any, start_worker: Any, tmp_path: Path
) -> None:
    server = private_redis()
    env = {
        "REDIS_ENABLED": "true",
        "REDIS_URL": server.url,
        "POSE_GENERATOR_PROVIDER": "counting",
        "POSE_GENERATOR_LEASE_SECONDS": LEASE,
        **kit.small,
    }
    stand_in = define_plugin("pose_test_counting", register_image_providers=lambda: {})
    client = make_client([kit.spec, stand_in], **env)
    runtime = runtime_of(client)
    api = kit.sign_up(client, credits=200)
    first = start_worker(env)

    queued = api.gallery(api.project(), kit.poses(client, 8))
    assert queued.status_code == 202, queued.text
    generation_id = queued.json()["generationId"]

    def row() -> Any:
        return kit.services(client).jobs.get(generation_id)

    until(lambda: row()["items_completed"] >= 3, timeout=60)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    with runtime.engine.connect() as connection:
        before = set(
            connection.execute(
                sa.text("SELECT seed FROM generated_poses WHERE generation_id = :g"),
                {"g": generation_id},
            ).scalars()
        )
    assert 3 <= len(before) < 8
    assert row()["status"] == "processing"

    start_worker(env)
    # The core's recovery schedule, run until it takes the lapsed generation over.
    until(
        lambda: row()["status"] in ("completed", "partial", "failed"),
        timeout=90,
        every=runtime.held_job_kinds.recover,
    )

    done = api.wait_for(generation_id)
    assert done["status"] == "completed", done
    assert done["posesCompleted"] == 8
    assert done["recoveryAttempts"] == 1
    assert api.balance() == {"balance": 300 - 240, "held": 0, "available": 60}
    renders = [int(line) for line in (tmp_path / "renders.log").read_text().split()]
    for seed in before:
        assert renders.count(seed) == 1, "a pose finished before the kill was rendered again"
    assert len(renders) <= 8 + 1  # at most the pose in flight at the kill is rendered twice
    assert kit.count_rows(client, "generated_poses") == 8
