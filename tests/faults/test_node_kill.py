"""A ``lumiku serve`` node without Redis (jobs run in its own process) killed by SIGKILL in
the middle of a generation, then started again: the job was in that process's memory only.

The restarted node's held-job recovery finds the generation whose lease ran out (2 s here)
and queues it again; the node finishes it without rendering a pose again that was stored
before the kill. Every pose is made once, charged 30 credits, nothing stays held, and
``lumiku credits reconcile`` finds nothing.
"""

from __future__ import annotations

import httpx
import pytest

from lumiku.testing.pytest_plugin import test_backend

from .conftest import (
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

pytestmark = [
    pytest.mark.slow,
    # Jobs in the web process are the embedded deployment's (SQLite); on PostgreSQL the
    # same recovery is proven with a killed `lumiku worker` (test_worker_faults.py).
    pytest.mark.skipif(test_backend() != "sqlite", reason="the embedded deployment: SQLite"),
]


def test_a_node_killed_mid_job_finishes_it_after_its_restart(system: System) -> None:
    system.env.update({"POSE_GENERATOR_LEASE_SECONDS": "2", "LKT_RENDER_SECONDS": "0.5"})
    url, node = system.serve("node-1")
    with httpx.Client(base_url=url, timeout=30) as http:
        artist = poser(http, "artist")
        system.grant(artist.email, 1000)
        generation_id = submit(system, artist)
        until(lambda: len(stored_seeds(system, generation_id)) >= 2, 60, "two poses stored")
        node.kill()
    before = stored_seeds(system, generation_id)
    assert len(before) < POSE_COUNT

    url, restarted = system.serve("node-2")
    with httpx.Client(base_url=url, timeout=30) as http:
        artist = type(artist)(http, artist.token, artist.user_id, artist.email, artist.project_id)
        report = finished(artist, generation_id, RECOVERED_WITHIN)
        check_money(system, artist, report, generation_id)
    seeds = [seed for _, seed in renders(system)]
    print(f"\nnode killed after {len(before)} of {POSE_COUNT} poses; renders {len(seeds)}")
    assert [seed for seed in before if seeds.count(seed) > 1] == [], renders(system)
    assert restarted.process.poll() is None
