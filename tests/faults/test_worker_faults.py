"""A ``lumiku worker`` that dies mid-job (SIGKILL to it and its worker processes, as when its
machine goes), and one stopped mid-job by SIGTERM (a deploy).

A ``lumiku serve`` node takes a Pose Generator generation of six poses; the ``slow``
provider takes 0.5 s a pose and records each render with the rendering process's id.

- Killed: nothing finishes the job until the node's scheduled recovery sees its lease run
  out (2 s here) and queues it again; a new worker finishes it, without rendering a pose
  again that was stored before the kill.
- Stopped: the worker finishes its current message (or requeues it) before it exits 0.

Either way every pose is made once, the generation is charged 30 credits a pose exactly,
nothing stays held, and ``lumiku credits reconcile`` finds nothing.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import httpx
import pytest

from lumiku.testing import RedisProcess
from lumiku.testing.pytest_plugin import test_backend

from .conftest import (
    FINAL,
    POSE_COUNT,
    RECOVERED_WITHIN,
    System,
    check_money,
    finished,
    poser,
    renders,
    stored_seeds,
    submit,
    until,
)

pytestmark = [pytest.mark.slow, pytest.mark.redis]


def start(system: System, redis: RedisProcess) -> str:
    """Start a node on ``redis`` with short leases and slow renders; return its URL."""
    system.env.update(
        {
            "REDIS_ENABLED": "true",
            "REDIS_URL": redis.url,
            "POSE_GENERATOR_LEASE_SECONDS": "2",
            "LKT_RENDER_SECONDS": "0.5",
        }
    )
    url, _node = system.serve()
    return url


@pytest.mark.skipif(
    test_backend() != "postgresql",
    reason="the PostgreSQL suite's (a killed node without Redis is the SQLite suite's)",
)
def test_a_worker_killed_mid_job_loses_nothing_and_charges_once(
    system: System, private_redis: Callable[..., RedisProcess]
) -> None:
    url = start(system, private_redis())
    first = system.worker("worker-1")
    with httpx.Client(base_url=url, timeout=30) as http:
        artist = poser(http, "artist")
        system.grant(artist.email, 1000)
        generation_id = submit(system, artist)
        until(lambda: len(stored_seeds(system, generation_id)) >= 2, 60, "two poses stored")
        first.kill()  # SIGKILL to `lumiku worker` and its worker process at once
        before = stored_seeds(system, generation_id)
        assert len(before) < POSE_COUNT
        assert artist.generation(generation_id)["status"] == "processing"

        second = system.worker("worker-2")
        report = finished(artist, generation_id, RECOVERED_WITHIN)
        check_money(system, artist, report, generation_id)
    seeds = [seed for _, seed in renders(system)]
    rendered_again = [seed for seed in before if seeds.count(seed) > 1]
    print(
        f"\nworker killed after {len(before)} of {POSE_COUNT} poses; renders "
        f"{len(renders(system))}, rendered again {rendered_again}"
    )
    assert rendered_again == [], renders(system)
    assert second.process.poll() is None


def test_a_worker_stopped_by_sigterm_finishes_or_requeues_its_job(
    system: System, private_redis: Callable[..., RedisProcess]
) -> None:
    url = start(system, private_redis())
    first = system.worker("worker-1")
    with httpx.Client(base_url=url, timeout=30) as http:
        artist = poser(http, "artist")
        system.grant(artist.email, 1000)
        generation_id = submit(system, artist)
        until(lambda: len(stored_seeds(system, generation_id)) >= 2, 60, "two poses stored")
        first.signal(signal.SIGTERM)
        assert first.wait(timeout=90) == 0, first.log_text()[-3000:]
        report = artist.generation(generation_id)
        if report["status"] not in FINAL:  # requeued: another worker takes it over
            system.worker("worker-2")
            report = finished(artist, generation_id, RECOVERED_WITHIN)
        check_money(system, artist, report, generation_id)
    seeds = [seed for _, seed in renders(system)]
    print(f"\nworker stopped by SIGTERM: {report['status']}; renders {len(seeds)}")
    assert sorted(seeds) == sorted(set(seeds)), renders(system)  # none rendered twice
    log = first.log_text()
    assert "Traceback" not in log, log[-3000:]
