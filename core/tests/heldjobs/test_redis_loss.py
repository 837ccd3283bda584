"""A submit while Redis is down or hung (a Redis of the test's own, stopped or ``SIGSTOP``ped)
never answers 500: it runs in this process through the fallback broker (how the core
handles Redis lost at runtime), or, with no fallback, it is refused at once with
``QueueUnavailable`` (503, ``Retry-After``) with its hold released.

The reviewer saw 500 (0.04 s with Redis down, 10.5 s hung): the marker bookkeeping's
``srem`` raised from ``settle_failed`` and the marker calls waited the broker's 10 s
timeout. Now the markers use the request path's timeout and the broker's breaker.
"""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest

from lumiku.heldjobs import FailoverMarkers, HeldJobs, QueueUnavailable, RedisMarkers, markers_for
from lumiku.jobs import JobQueue, build_broker
from lumiku.jobs.broker import job_stats
from lumiku.jobs.worker import InProcessWorker
from lumiku.redis_clients import guarded_client
from lumiku.testing import drain
from lumiku.testing.redis_server import RedisProcess

pytestmark = [pytest.mark.redis]

SLOW = 3.0
"""A bound far under the 10 s the reviewer measured; not a benchmark."""


@contextmanager
def lost(redis: RedisProcess, how: str) -> Iterator[None]:
    """Stop Redis (``down``) or freeze it (``hung``: connections accepted, no answers)."""
    assert redis.process is not None
    if how == "down":
        redis.stop()
        yield
        return
    os.kill(redis.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(redis.process.pid, signal.SIGCONT)


@attrs.define
class Setup:
    held: HeldJobs
    fallback: Any
    close: Callable[[], None]


def _setup(world: Any, redis_url: str, *, with_fallback: bool) -> Setup:
    primary = build_broker(redis_url, namespace=f"loss-{uuid.uuid4().hex[:8]}")
    queue = JobQueue(primary)
    markers: Any = markers_for(primary)
    fallback = worker = None
    if with_fallback:
        fallback = build_broker(None, stats=job_stats(primary))
        worker = InProcessWorker(fallback, threads=1)
        queue.set_fallback(fallback, primary_up=lambda: True)  # the watch has not noticed
        queue.before_fallback(worker.start)
        markers = FailoverMarkers(markers, markers_for(fallback), lambda: True)
    services = attrs.evolve(world.services(queue), markers=markers)
    held = HeldJobs(world.kind(), services)
    held.declare(primary)
    if fallback is not None:
        held.declare(fallback)

    def close() -> None:
        if worker is not None:
            worker.stop()
        primary.close()

    return Setup(held, fallback, close)


@pytest.mark.parametrize("how", ["down", "hung"])
def test_a_submit_runs_in_process_when_redis_is_lost(
    world: Any, private_redis: Callable[..., RedisProcess], how: str
) -> None:
    redis = private_redis()
    setup = _setup(world, redis.url, with_fallback=True)
    user = world.user(100)
    try:
        with lost(redis, how):
            started = time.perf_counter()
            submitted = setup.held.submit(world.key(user), values={"label": how}, items=2)
            elapsed = time.perf_counter() - started
            drain(setup.fallback, fail_fast=True)
    finally:
        setup.close()
    assert elapsed < SLOW, elapsed
    assert world.job(submitted.job["id"])["status"] == "completed"
    assert world.balance(user)[1] == 0


@pytest.mark.parametrize("how", ["down", "hung"])
def test_without_a_fallback_a_submit_is_refused_with_503_and_its_hold_released(
    world: Any, private_redis: Callable[..., RedisProcess], how: str
) -> None:
    redis = private_redis()
    setup = _setup(world, redis.url, with_fallback=False)
    user = world.user(100)
    key = world.key(user, "lost")
    try:
        with lost(redis, how):
            started = time.perf_counter()
            with pytest.raises(QueueUnavailable) as refused:
                setup.held.submit(key, values={"label": how}, items=2)
            elapsed = time.perf_counter() - started
    finally:
        setup.close()
    assert elapsed < SLOW, elapsed
    assert refused.value.retry_after == 5
    assert refused.value.details["retryAfter"] == 5
    assert world.balance(user) == (100, 0)
    rows = world.job(refused.value.details["jobId"])
    assert (rows["status"], rows["error_code"]) == ("failed", "QUEUE_UNAVAILABLE")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_discarding_a_marker_never_raises() -> None:
    client = guarded_client(f"redis://127.0.0.1:{_closed_port()}/0", timeout=0.2)
    markers = RedisMarkers(client, "nowhere")
    try:
        markers.discard("p.job", "j1")  # connection refused
        markers.discard("p.job", "j2")  # breaker open
    finally:
        client.close()
