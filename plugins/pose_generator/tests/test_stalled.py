"""Stuck generations: re-queued by the core's recovery up to three times, then failed with
their credits released; stats and health report them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lumiku.heldjobs import claims
from lumiku.testing import OPERATOR_HEADERS, ManualClock
from lumiku_pose_generator.tables import generations


def test_a_generation_stuck_four_times_is_failed_and_released(make_client: Any, kit: Any) -> None:
    clock = ManualClock()
    client = make_client([kit.spec], clock=clock, POSE_GENERATOR_LEASE_SECONDS="30", **kit.small)
    runtime = kit.runtime(client)
    api = kit.sign_up(client)
    queue = kit.jobs(client)
    queue.hold()  # the queued messages are kept: every worker "dies" before rendering
    generation_id = api.gallery(api.project(), kit.poses(client, 2)).json()["generationId"]
    assert api.balance()["held"] == 60

    for attempt in range(4):
        with runtime.engine.begin() as connection:
            assert claims.claim(
                connection,
                generations,
                generation_id,
                f"dead-worker-{attempt}",
                now=clock(),
                lease=timedelta(seconds=30),
            )
        clock.advance(minutes=1)  # the lease ran out: its worker is gone
        runtime.held_job_kinds.recover()
        row = kit.services(client).jobs.get(generation_id)
        if attempt < 3:
            assert (row["status"], row["requeues"]) == ("pending", attempt + 1)

    done = api.get(f"/generations/{generation_id}").json()
    assert done["status"] == "failed"
    assert done["errorCode"] == "STALLED"
    assert done["recoveryAttempts"] == 3
    assert (done["creditsCaptured"], done["creditsReleased"]) == (0, 60)
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    assert len(queue.named("pose_generator.generate")) == 4  # submitted, then 3 requeues

    stats = api.get("/stats").json()
    assert stats["generationsByStatus"] == {"failed": 1}
    assert (stats["totalProjects"], stats["posesGenerated"], stats["creditsSpent"]) == (1, 0, 0)
    health = client.get(kit.prefix + "/health", headers=OPERATOR_HEADERS).json()
    assert health["checks"]["queue"]["status"] == "degraded"


def test_stats_count_poses_and_credits(client: Any, kit: Any) -> None:
    api = kit.sign_up(client)
    poses = kit.poses(client, 2)
    api.gallery(api.project(), poses, batchSize=1)
    kit.drain(client)
    stats = api.get("/stats").json()
    assert stats["generationsByStatus"] == {"completed": 1}
    assert (stats["posesGenerated"], stats["posesFailed"], stats["creditsSpent"]) == (2, 0, 60)
    assert sorted(t["poseId"] for t in stats["topPoses"]) == sorted(poses)
