"""Postures to keypoints: a jointed 3-D body with constant bone lengths, seen from the front.

A ``Posture`` gives joint angles; ``keypoints(posture)`` places a body with fixed
proportions in 3-D, turns it by ``yaw``, projects it orthographically and fits it into a
square frame, returning 18 COCO-18 points ``(x, y, confidence)`` normalized to 0..1 (origin
top left). Every limb keeps its length in 3-D, so two postures differ only by their angles.

Body axes: ``x`` the person's left (the image's right when they face the camera), ``y``
down, ``z`` toward the camera. A limb segment's direction is ``(elevation, heading)`` in
degrees: elevation 0 hangs straight down, 90 is horizontal, 180 points up; heading 0 points
outward (away from the body's midline on that limb's side), 90 forward, 180 inward (across
the body), -90 backward.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import attrs

Vec = tuple[float, float, float]
Direction = tuple[float, float]  # (elevation, heading), degrees
Keypoint = tuple[float, float, float]

TORSO: Final = 0.29
SHOULDER_HALF: Final = 0.10
HIP_HALF: Final = 0.06
UPPER_ARM: Final = 0.17
FOREARM: Final = 0.15
THIGH: Final = 0.24
SHIN: Final = 0.23
BONES: Final = {"upper_arm": UPPER_ARM, "forearm": FOREARM, "thigh": THIGH, "shin": SHIN}
"""Limb lengths in units of body height (head top to ankles is about 0.92)."""

HEAD: Final[dict[int, Vec]] = {
    0: (0.0, -0.095, 0.055),  # nose
    14: (-0.02, -0.115, 0.045),  # right eye
    15: (0.02, -0.115, 0.045),  # left eye
    16: (-0.048, -0.105, -0.005),  # right ear
    17: (0.048, -0.105, -0.005),  # left ear
}
"""Face points relative to the neck, head upright and facing forward."""
HEAD_CENTRE: Final[Vec] = (0.0, -0.105, 0.0)
HIDDEN_BELOW: Final = -0.015
"""A face point further than this behind the head's centre (toward -z) is not visible."""

FILL: Final = 0.86
"""Largest side of the figure's box, as a fraction of the frame."""
STANDING_SCALE: Final = 0.86
"""Frame units per body unit: a standing figure fills about 80 % of the frame's height."""
TOP_MARGIN: Final = 0.065
"""Room above the nose for the head (body units)."""


@attrs.frozen
class Limb:
    """An arm or a leg: the directions of its upper and lower segments."""

    upper: Direction = (0.0, 0.0)
    lower: Direction = (0.0, 0.0)


HANGING: Final = Limb()


@attrs.frozen
class Posture:
    """Joint angles of a whole body (degrees).

    ``yaw`` turns the whole body (positive: toward the person's left, i.e. their front
    turns to the image's right); ``lean`` tips the torso forward (negative: back), ``tilt``
    to the person's left, ``twist`` turns the shoulders against the hips; ``head_turn``,
    ``head_nod`` (down) and ``head_tilt`` (to the left) move the head against the torso.
    """

    right_arm: Limb = HANGING
    left_arm: Limb = HANGING
    right_leg: Limb = HANGING
    left_leg: Limb = HANGING
    yaw: float = 0.0
    lean: float = 0.0
    tilt: float = 0.0
    twist: float = 0.0
    head_turn: float = 0.0
    head_nod: float = 0.0
    head_tilt: float = 0.0


def _rx(v: Vec, degrees: float) -> Vec:
    """Rotate about x: positive tips -y (up) toward +z (forward)."""
    a = math.radians(degrees)
    x, y, z = v
    return (x, y * math.cos(a) + z * math.sin(a), -y * math.sin(a) + z * math.cos(a))


def _ry(v: Vec, degrees: float) -> Vec:
    """Rotate about the vertical: positive turns +z (forward) toward +x (the left)."""
    a = math.radians(degrees)
    x, y, z = v
    return (x * math.cos(a) + z * math.sin(a), y, -x * math.sin(a) + z * math.cos(a))


def _rz(v: Vec, degrees: float) -> Vec:
    """Rotate in the picture plane: positive tips -y (up) toward +x (the left)."""
    a = math.radians(degrees)
    x, y, z = v
    return (x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a), z)


def _add(a: Vec, b: Vec, scale: float = 1.0) -> Vec:
    return (a[0] + b[0] * scale, a[1] + b[1] * scale, a[2] + b[2] * scale)


def direction(side: float, elevation: float, heading: float) -> Vec:
    """Return the unit vector of a limb segment on ``side`` (-1 right, +1 left)."""
    e, h = math.radians(elevation), math.radians(heading)
    return (side * math.sin(e) * math.cos(h), math.cos(e), math.sin(e) * math.sin(h))


def _torso(posture: Posture, v: Vec) -> Vec:
    return _rz(_rx(_ry(v, posture.twist), posture.lean), posture.tilt)


def _head(posture: Posture, v: Vec) -> Vec:
    turned = _rz(_rx(_ry(v, posture.head_turn), posture.head_nod), posture.head_tilt)
    return _torso(posture, turned)


def body_points(posture: Posture) -> tuple[list[Vec], list[bool]]:
    """Return the 18 joints in body units (pelvis at the origin, after ``yaw``) and which
    of them are visible."""
    p = posture
    points: list[Vec] = [(0.0, 0.0, 0.0)] * 18
    neck = _torso(p, (0.0, -TORSO, 0.0))
    points[1] = neck
    for side, shoulder, elbow, wrist, arm in ((-1, 2, 3, 4, p.right_arm), (1, 5, 6, 7, p.left_arm)):
        points[shoulder] = _add(neck, _torso(p, (side * SHOULDER_HALF, 0.0, 0.0)))
        points[elbow] = _add(points[shoulder], direction(side, *arm.upper), UPPER_ARM)
        points[wrist] = _add(points[elbow], direction(side, *arm.lower), FOREARM)
    for side, hip, knee, ankle, leg in ((-1, 8, 9, 10, p.right_leg), (1, 11, 12, 13, p.left_leg)):
        points[hip] = (side * HIP_HALF, 0.0, 0.0)
        points[knee] = _add(points[hip], direction(side, *leg.upper), THIGH)
        points[ankle] = _add(points[knee], direction(side, *leg.lower), SHIN)
    centre = _add(neck, _head(p, HEAD_CENTRE))
    visible = [True] * 18
    for index, offset in HEAD.items():
        points[index] = _add(neck, _head(p, offset))
        facing = _ry(_add(points[index], centre, -1.0), p.yaw)
        visible[index] = facing[2] >= HIDDEN_BELOW
    return [_ry(point, p.yaw) for point in points], visible


def fit(points: Sequence[Vec], visible: Sequence[bool]) -> list[Keypoint]:
    """Project onto the picture plane and fit the figure, centred, into the unit square."""
    shown = [pt for pt, seen in zip(points, visible, strict=True) if seen]
    top = min(min(pt[1] for pt in shown), points[0][1] - TOP_MARGIN)
    left, right = min(pt[0] for pt in shown), max(pt[0] for pt in shown)
    bottom = max(pt[1] for pt in shown)
    scale = min(STANDING_SCALE, FILL / max(right - left, bottom - top))
    cx, cy = (left + right) / 2, (top + bottom) / 2
    result: list[Keypoint] = []
    for (x, y, _z), seen in zip(points, visible, strict=True):
        u = min(1.0, max(0.0, 0.5 + (x - cx) * scale))
        v = min(1.0, max(0.0, 0.5 + (y - cy) * scale))
        result.append((round(u, 4), round(v, 4), 1.0 if seen else 0.0))
    return result


def keypoints(posture: Posture) -> list[Keypoint]:
    """Return the 18 COCO-18 keypoints of ``posture`` in a square frame, normalized 0..1."""
    return fit(*body_points(posture))
