"""The reviewer's reproduction: ``POST /api/apps/pose-generator/generate`` with the
configured Redis shut down or ``SIGSTOP``ped (before the watch noticed) answered 500, after
0.04 s and 10.5 s. Now the submit runs in this process through the fallback broker,
quickly, and is charged exactly once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from lumiku.testing import runtime_of, serve_in_thread

SLOW = 3.0
"""Far under the 10.5 s the reviewer saw; not a benchmark."""


@contextmanager
def lost(server: Any, how: str) -> Iterator[None]:
    if how == "down":
        server.stop()
        yield
        return
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.process.pid, signal.SIGCONT)


@pytest.mark.redis
@pytest.mark.parametrize("how", ["down", "hung"])
def test_a_generation_submitted_while_redis_is_lost_runs_in_process(
    make_app: Any, kit: Any, private_redis: Any, how: str
) -> None:
    server = private_redis()
    app = make_app([kit.spec], REDIS_ENABLED="true", REDIS_URL=server.url, **kit.small)
    runtime = runtime_of(app)
    poses = kit.poses(app, 2)
    with (
        serve_in_thread(app, loop="asyncio") as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        api = kit.sign_up(http)
        runtime.ledger.grant(api.user_id, 100, "test credits", f"test:{api.user_id}")
        project = api.project()
        with lost(server, how):
            started = time.perf_counter()
            queued = api.gallery(project, poses)
            elapsed = time.perf_counter() - started
            assert queued.status_code == 202, queued.text
            done = api.wait_for(queued.json()["generationId"])
        print(f"\nsubmit with Redis {how}: {elapsed:.2f} s")
        assert elapsed < SLOW, elapsed
        assert done["status"] == "completed"
        assert api.balance() == {"balance": 200 - 60, "held": 0, "available": 140}
