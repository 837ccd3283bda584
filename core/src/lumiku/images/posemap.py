"""The OpenPose control map of a pose: the COCO-18 skeleton in OpenPose colours on black.

This is the picture a pose-conditioned model (ControlNet OpenPose) takes as its control
image: each limb a bar in its own colour at 60 % strength, each joint a dot at full
strength, missing points (confidence below ``VISIBLE_CONFIDENCE``) left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

from PIL import Image, ImageDraw

from lumiku.images import skeleton as sk
from lumiku.images.figure import visible_points

COLOURS: Final[tuple[tuple[int, int, int], ...]] = (
    (255, 0, 0),
    (255, 85, 0),
    (255, 170, 0),
    (255, 255, 0),
    (170, 255, 0),
    (85, 255, 0),
    (0, 255, 0),
    (0, 255, 85),
    (0, 255, 170),
    (0, 255, 255),
    (0, 170, 255),
    (0, 85, 255),
    (0, 0, 255),
    (85, 0, 255),
    (170, 0, 255),
    (255, 0, 255),
    (255, 0, 170),
    (255, 0, 85),
)
"""OpenPose's colours: joint ``i`` is drawn in ``COLOURS[i]``, limb ``j`` of ``POSE_MAP_LIMBS``
in ``COLOURS[j]``."""

POSE_MAP_LIMBS: Final = (
    (sk.NECK, sk.R_SHOULDER),
    (sk.NECK, sk.L_SHOULDER),
    (sk.R_SHOULDER, sk.R_ELBOW),
    (sk.R_ELBOW, sk.R_WRIST),
    (sk.L_SHOULDER, sk.L_ELBOW),
    (sk.L_ELBOW, sk.L_WRIST),
    (sk.NECK, sk.R_HIP),
    (sk.R_HIP, sk.R_KNEE),
    (sk.R_KNEE, sk.R_ANKLE),
    (sk.NECK, sk.L_HIP),
    (sk.L_HIP, sk.L_KNEE),
    (sk.L_KNEE, sk.L_ANKLE),
    (sk.NECK, sk.NOSE),
    (sk.NOSE, sk.R_EYE),
    (sk.R_EYE, sk.R_EAR),
    (sk.NOSE, sk.L_EYE),
    (sk.L_EYE, sk.L_EAR),
)
"""The 17 limbs in the order (and so the colours) OpenPose draws them."""


def _bar(
    draw: ImageDraw.ImageDraw,
    a: tuple[float, float],
    b: tuple[float, float],
    width: float,
    fill: tuple[int, int, int],
) -> None:
    """Draw an ellipse-ended bar from ``a`` to ``b`` as OpenPose does (a long ellipse)."""
    length = math.hypot(b[0] - a[0], b[1] - a[1])
    angle = math.atan2(b[1] - a[1], b[0] - a[0])
    cx, cy = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    steps = 36
    outline = [
        (
            cx + length / 2 * math.cos(t) * math.cos(angle) - width * math.sin(t) * math.sin(angle),
            cy + length / 2 * math.cos(t) * math.sin(angle) + width * math.sin(t) * math.cos(angle),
        )
        for t in (2 * math.pi * i / steps for i in range(steps))
    ]
    draw.polygon(outline, fill)


def draw_pose_map(
    keypoints: Sequence[tuple[float, float, float]], size: tuple[int, int]
) -> Image.Image:
    """Return the RGB OpenPose control map of ``keypoints`` (18 normalized COCO-18 points)
    at ``size`` (width, height) pixels; the bar and dot sizes scale with the image."""
    canvas = Image.new("RGB", size, (0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    points = visible_points(keypoints, size)
    unit = max(1.0, min(size) / 512)
    for index, (a, b) in enumerate(POSE_MAP_LIMBS):
        start, end = points[a], points[b]
        if start is not None and end is not None:
            colour = COLOURS[index]
            _bar(
                draw,
                start,
                end,
                4 * unit,
                (colour[0] * 6 // 10, colour[1] * 6 // 10, colour[2] * 6 // 10),
            )
    radius = 4 * unit
    for index, point in enumerate(points):
        if point is not None:
            x, y = point
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), COLOURS[index])
    return canvas
