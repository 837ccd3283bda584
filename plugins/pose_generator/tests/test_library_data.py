"""The library's seed: its shape, its counts, and 84 distinct, anatomically consistent poses."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import pytest

from lumiku_pose_generator.library_data import CATEGORIES, POSES, PoseSeed, pose_id
from lumiku_pose_generator.posture import (
    BONES,
    HIP_HALF,
    SHOULDER_HALF,
    TORSO,
    body_points,
    fit,
)

ARMS = ((2, 3, "upper_arm"), (3, 4, "forearm"), (5, 6, "upper_arm"), (6, 7, "forearm"))
LEGS = ((8, 9, "thigh"), (9, 10, "shin"), (11, 12, "thigh"), (12, 13, "shin"))
LIMBS = ARMS + LEGS


def test_categories_are_six_roots_and_twenty_two_children() -> None:
    roots = [c for c in CATEGORIES if c.parent is None]
    children = [c for c in CATEGORIES if c.parent is not None]
    assert len(CATEGORIES) == 28
    assert [c.slug for c in roots] == [
        "professional",
        "e-commerce",
        "fashion",
        "hijab",
        "casual",
        "sports",
    ]
    assert len(children) == 22
    assert {c.parent for c in children} == {c.slug for c in roots}
    assert len({c.slug for c in CATEGORIES}) == 28
    for category in CATEGORIES:
        assert category.color.startswith("#")
        assert len(category.color) == 7
        assert category.icon
        assert category.name


def test_the_poses_have_the_reference_distribution() -> None:
    assert len(POSES) == 84
    assert Counter(p.difficulty for p in POSES) == {
        "beginner": 49,
        "intermediate": 29,
        "advanced": 6,
    }
    assert Counter(p.gender for p in POSES) == {"unisex": 51, "male": 20, "female": 13}
    assert sum(p.premium for p in POSES) == 9
    assert sum(p.featured for p in POSES) == 7


def test_poses_are_unique_by_category_and_name_and_have_stable_ids() -> None:
    children = {c.slug for c in CATEGORIES if c.parent is not None}
    assert len({(p.category, p.name) for p in POSES}) == 84
    assert len({p.id for p in POSES}) == 84
    for pose in POSES:
        assert pose.category in children
        assert pose.id == pose_id(pose.category, pose.name)
        assert len(pose.id) <= 120
        assert len(pose.name) <= 100
        assert len(pose.description) <= 500
        assert pose.tags
        assert all(tag == tag.lower() for tag in pose.tags)
    assert POSES[0].id == "business-portraits.confident-arms-crossed"


@pytest.mark.parametrize("pose", POSES, ids=[p.id for p in POSES])
def test_every_pose_has_eighteen_normalized_points(pose: PoseSeed) -> None:
    points = pose.keypoints()
    assert len(points) == 18
    for x, y, confidence in points:
        assert 0.0 <= x <= 1.0
        assert 0.0 <= y <= 1.0
        assert confidence in (0.0, 1.0)
    face = [points[0], *points[14:]]
    assert all(c == 1.0 for _, _, c in points[1:14])  # only face points are ever hidden
    assert sum(c for *_, c in face) >= 1  # something of the head shows


def _length(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return math.dist(a, b)


@pytest.mark.parametrize("pose", POSES, ids=[p.id for p in POSES])
def test_bone_lengths_are_constant(pose: PoseSeed) -> None:
    """In 3-D every bone has its length; in the picture a bone is never longer than its
    length times the pose's scale, and most bones are seen nearly full length."""
    joints, visible = body_points(pose.posture)
    for a, b, bone in LIMBS:
        assert _length(joints[a], joints[b]) == pytest.approx(BONES[bone], abs=1e-9)
    assert _length(joints[2], joints[5]) == pytest.approx(2 * SHOULDER_HALF, abs=1e-9)
    assert _length(joints[8], joints[11]) == pytest.approx(2 * HIP_HALF, abs=1e-9)
    hips = tuple((joints[8][i] + joints[11][i]) / 2 for i in range(3))
    assert _length(joints[1], hips) == pytest.approx(TORSO, abs=1e-9)

    points = pose.keypoints()
    assert points == fit(joints, visible)
    ratios = [_length(points[a][:2], points[b][:2]) / BONES[bone] for a, b, bone in LIMBS]
    scale = max(ratios)
    assert 0.55 <= scale <= 0.87
    assert all(ratio <= scale + 1e-3 for ratio in ratios)
    assert sorted(ratios)[len(ratios) // 2] >= 0.6 * scale  # the figure reads


def _centred(points: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    hx, hy = (points[8][0] + points[11][0]) / 2, (points[8][1] + points[11][1]) / 2
    return [(x - hx, y - hy, c) for x, y, c in points]


def test_the_poses_are_pairwise_distinct_postures() -> None:
    """Centred on the hips, every two poses differ: some joint moves by at least 6 % of
    the frame (about 7 % of the body's height) and the joints by 1.2 % on average."""
    centred = {p.id: _centred(p.keypoints()) for p in POSES}
    too_close = []
    for (first, a), (second, b) in itertools.combinations(centred.items(), 2):
        moves = [math.dist(p[:2], q[:2]) for p, q in zip(a, b, strict=True) if p[2] and q[2]]
        if max(moves) < 0.06 or sum(moves) / len(moves) < 0.012:
            too_close.append((first, second, round(max(moves), 3)))
    assert too_close == []
