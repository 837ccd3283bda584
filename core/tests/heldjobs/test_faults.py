"""Held jobs survive real faults: a worker process killed mid-job, Redis restarted empty.

Both run against a Redis server this test starts on a port of its own, worker processes
started with ``worker_process.py``, and the recovery run from the test (as the core's
schedule would, every few seconds). The limits are short (a lease of 2 s, a lost message
noticed after 1 s) so the tests take seconds; with the defaults (a lease of 45 s, lost
after 30 s, recovery every 15 s) the same happens within about a minute.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from lumiku.heldjobs import HeldJobs, recover

pytestmark = [pytest.mark.redis, pytest.mark.slow]

HERE = Path(__file__).parent
LEASE_SECONDS = 2.0


def _worker_module() -> Any:
    spec = importlib.util.spec_from_file_location("lkt_worker_process", HERE / "worker_process.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def start_worker(database_url: str, tmp_path: Path) -> Iterator[Callable[[str], Any]]:
    """Return ``start(redis_url)``: a worker process consuming the sample job's queue."""
    started: list[subprocess.Popen[str]] = []
    env = {**os.environ, "LKT_PRODUCE_LOG": str(tmp_path / "produced.log")}

    def start(redis_url: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "worker_process.py"),
                database_url,
                redis_url,
                str(LEASE_SECONDS),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        started.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _produced(tmp_path: Path) -> list[str]:
    log = tmp_path / "produced.log"
    return log.read_text(encoding="utf-8").split("\n")[:-1] if log.exists() else []


def _until(condition: Callable[[], bool], *, timeout: float, every: Callable[[], Any]) -> float:
    """Call ``every`` until ``condition`` holds; return the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not done after {timeout} s")
        every()
        time.sleep(0.2)
    return time.monotonic() - started


def _kit(world: Any, database_url: str, redis_url: str) -> HeldJobs:
    held: HeldJobs = _worker_module().held_jobs(
        __import__("lkt_heldjobs_sample"), database_url, redis_url, LEASE_SECONDS
    )
    return held


def test_a_job_whose_worker_is_killed_is_finished_by_another_without_redoing_items(
    world: Any,
    private_redis: Any,
    start_worker: Callable[[str], Any],
    database_url: str,
    tmp_path: Path,
) -> None:
    server = private_redis()
    held = _kit(world, database_url, server.url)
    user = world.user(100)
    job_id = held.submit(world.key(user), values={"label": "kill", "delay": 0.3}, items=6).job["id"]
    first = start_worker(server.url)
    _until(lambda: world.job(job_id)["items_completed"] >= 2, timeout=30, every=lambda: None)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    finished_before = {item.item for item in held.items(job_id) if item.status == "completed"}
    made_before = len(_produced(tmp_path))
    assert len(finished_before) >= 2
    assert world.job(job_id)["status"] == "processing"  # the dead worker's claim

    start_worker(server.url)
    taken = _until(
        lambda: world.job(job_id)["status"] == "completed",
        timeout=60,
        every=lambda: recover(held.kind, held._services),
    )
    job = world.job(job_id)
    assert (job["items_completed"], job["requeues"], job["credits_charged"]) == (6, 1, 60)
    assert world.balance(user) == (40, 0)
    made = [line.split()[1] for line in _produced(tmp_path)]
    assert finished_before.isdisjoint(made[made_before:])  # finished items are not made again
    assert sorted(set(made)) == [f"item-{i}" for i in range(6)]
    assert taken < LEASE_SECONDS + 20


def test_a_job_whose_message_redis_lost_is_queued_again_and_runs_once(
    world: Any,
    private_redis: Any,
    start_worker: Callable[[str], Any],
    database_url: str,
    tmp_path: Path,
) -> None:
    server = private_redis()
    held = _kit(world, database_url, server.url)
    user = world.user(100)
    job_id = held.submit(world.key(user), values={"label": "flush"}, items=2).job["id"]
    client = redis.Redis.from_url(server.url)
    try:
        client.flushall()  # Redis restarted empty: the message and its marker are gone
    finally:
        client.close()
    start_worker(server.url)
    time.sleep(1.5)
    assert world.job(job_id)["status"] == "pending"  # nothing left to deliver it
    taken = _until(
        lambda: world.job(job_id)["status"] == "completed",
        timeout=60,
        every=lambda: recover(held.kind, held._services),
    )
    assert world.balance(user) == (80, 0)
    assert sorted(line.split()[1] for line in _produced(tmp_path)) == ["item-0", "item-1"]
    assert taken < 20
