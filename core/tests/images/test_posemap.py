"""The OpenPose control map: limbs in OpenPose colours on black, missing points left out."""

from __future__ import annotations

from PIL import Image

import lumiku
from lumiku.images.posemap import COLOURS, POSE_MAP_LIMBS, draw_pose_map
from lumiku.images.skeleton import KEYPOINT_COUNT

STANDING = [
    (0.50, 0.15, 1.0),  # nose
    (0.50, 0.25, 1.0),  # neck
    (0.40, 0.25, 1.0),
    (0.38, 0.40, 1.0),
    (0.37, 0.55, 1.0),
    (0.60, 0.25, 1.0),
    (0.62, 0.40, 1.0),
    (0.63, 0.55, 1.0),
    (0.45, 0.55, 1.0),
    (0.45, 0.72, 1.0),
    (0.45, 0.90, 1.0),
    (0.55, 0.55, 1.0),
    (0.55, 0.72, 1.0),
    (0.55, 0.90, 1.0),
    (0.48, 0.13, 1.0),
    (0.52, 0.13, 1.0),
    (0.46, 0.14, 1.0),
    (0.54, 0.14, 0.0),  # left ear hidden
]


def test_the_facade_exports_it() -> None:
    assert lumiku.draw_pose_map is draw_pose_map


def test_seventeen_limbs_and_eighteen_colours() -> None:
    assert len(POSE_MAP_LIMBS) == 17
    assert len(COLOURS) == KEYPOINT_COUNT == 18


def test_joints_in_their_colours_on_black() -> None:
    image = draw_pose_map(STANDING, (512, 512))
    assert image.size == (512, 512)
    assert image.mode == "RGB"
    assert image.getpixel((5, 5)) == (0, 0, 0)
    nose, right_wrist = STANDING[0], STANDING[4]
    assert image.getpixel((round(nose[0] * 512), round(nose[1] * 512))) == COLOURS[0]
    assert image.getpixel((round(right_wrist[0] * 512), round(right_wrist[1] * 512))) == COLOURS[4]
    # the right forearm's bar (limb 3) between elbow and wrist, at 60 % strength
    between = (round(0.375 * 512), round(0.475 * 512))
    assert image.getpixel(between) == tuple(c * 6 // 10 for c in COLOURS[3])


def test_a_hidden_point_and_its_limb_are_not_drawn() -> None:
    image = draw_pose_map(STANDING, (512, 512))
    ear = STANDING[17]
    assert image.getpixel((round(ear[0] * 512), round(ear[1] * 512))) == (0, 0, 0)


def test_sizes_scale_the_drawing() -> None:
    small, large = draw_pose_map(STANDING, (256, 128)), draw_pose_map(STANDING, (1024, 1024))
    assert small.size == (256, 128)
    lit = lit_pixels(large)
    assert lit > 3 * lit_pixels(draw_pose_map(STANDING, (512, 512)))


def lit_pixels(image: Image.Image) -> int:
    """Return how many pixels are not black."""
    histogram = image.convert("L").histogram()
    return sum(histogram) - histogram[0]
