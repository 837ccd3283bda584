"""Failures cost nothing: failed poses are released, successes captured, balances exact."""

from __future__ import annotations

from typing import Any

from lumiku.images import LocalImageProvider
from lumiku_pose_generator.poses import find_poses


def keypoints_of(app: Any, kit: Any, pose_id: str) -> Any:
    with kit.runtime(app).engine.connect() as connection:
        return find_poses(connection, [pose_id])[pose_id].keypoints


def test_a_partial_failure_captures_the_successes_and_releases_the_rest(
    app_client: Any, kit: Any
) -> None:
    refused: list[Any] = []
    providers: list[Any] = []

    def flaky() -> Any:
        provider = kit.FlakyProvider(LocalImageProvider(), lambda r: r.keypoints in refused)
        providers.append(provider)
        return provider

    client = app_client(kit.provider_plugin(flaky), POSE_GENERATOR_PROVIDER="flaky")
    api = kit.sign_up(client, credits=200)
    poses = kit.poses(client, 3)
    refused.append(keypoints_of(client, kit, poses[1]))

    queued = api.gallery(
        api.project(),
        poses,
        batchSize=2,
        useBackgroundChanger=True,
        backgroundMode="solid_color",
        backgroundColor="#ffffff",
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["creditCharged"] == 6 * 40
    kit.drain(client)
    done = api.wait_for(queued.json()["generationId"])

    assert done["status"] == "partial"
    assert (done["posesCompleted"], done["posesFailed"]) == (4, 2)
    assert (done["creditsCaptured"], done["creditsReleased"]) == (160, 80)
    assert done["errorCode"] == "PROVIDER_ERROR"
    assert [f["variationKey"] for f in done["failedPoses"]] == [f"2:{poses[1]}", f"3:{poses[1]}"]
    assert api.balance() == {"balance": 300 - 160, "held": 0, "available": 140}
    assert len(providers[0].calls) == 6  # a refusal is not retried
    results = api.get(f"/generations/{done['id']}/results").json()["poses"]
    assert [p["position"] for p in results] == [0, 1, 4, 5]


def test_when_every_pose_fails_nothing_is_charged(app_client: Any, kit: Any) -> None:
    client = app_client(
        kit.provider_plugin(lambda: kit.FlakyProvider(LocalImageProvider(), lambda r: True)),
        POSE_GENERATOR_PROVIDER="flaky",
    )
    api = kit.sign_up(client)
    queued = api.gallery(api.project(), kit.poses(client, 2))
    kit.drain(client)
    done = api.wait_for(queued.json()["generationId"])
    assert done["status"] == "failed"
    assert (done["creditsCaptured"], done["creditsReleased"]) == (0, 60)
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
    assert kit.count_rows(client, "generated_poses") == 0
    assert len(kit.files()) == 1  # only the uploaded avatar


def test_a_queue_that_refuses_the_job_releases_the_hold(client: Any, kit: Any) -> None:
    from lumiku import ServiceUnavailable

    api = kit.sign_up(client)
    project = api.project()
    kit.jobs(client).refuse(ServiceUnavailable("Redis is gone"))
    response = api.gallery(project, kit.poses(client, 1))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "QUEUE_UNAVAILABLE"
    assert response.headers["Retry-After"] == "5"
    assert api.balance() == {"balance": 100, "held": 0, "available": 100}
