"""Draw a full figure from pose keypoints: thick limbs, a filled torso and a round head."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageDraw

from lumiku.images import skeleton as sk
from lumiku.images.look import Look
from lumiku.images.palette import RGB, mix, shade

Point = tuple[float, float]


def visible_points(
    keypoints: Sequence[tuple[float, float, float]], size: tuple[int, int]
) -> list[Point | None]:
    """Return keypoints in pixels, ``None`` for those below the visibility threshold.

    A missing neck is put between the shoulders, as OpenPose itself derives it.
    """
    width, height = size
    points: list[Point | None] = [
        (x * width, y * height) if c >= sk.VISIBLE_CONFIDENCE else None for x, y, c in keypoints
    ]
    right, left = points[sk.R_SHOULDER], points[sk.L_SHOULDER]
    if points[sk.NECK] is None and right is not None and left is not None:
        points[sk.NECK] = ((right[0] + left[0]) / 2, (right[1] + left[1]) / 2)
    return points


def _distance(a: Point | None, b: Point | None) -> float | None:
    if a is None or b is None:
        return None
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _midpoint(a: Point | None, b: Point | None) -> Point | None:
    if a is None or b is None:
        return a or b
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)


def limb_width(points: Sequence[Point | None], size: tuple[int, int], look: Look) -> float:
    """Return the limb thickness in pixels, scaled to the skeleton's torso length."""
    unit = min(size)
    hips = _midpoint(points[sk.R_HIP], points[sk.L_HIP])
    torso = _distance(points[sk.NECK], hips)
    shoulders = _distance(points[sk.R_SHOULDER], points[sk.L_SHOULDER])
    reference = torso or (shoulders * 1.6 if shoulders else None) or unit * 0.3
    return max(3.0, min(reference * 0.2 * look.body_width, unit * 0.09))


def _bone(
    draw: ImageDraw.ImageDraw, a: Point | None, b: Point | None, fill: RGB, width: float
) -> None:
    if a is None or b is None:
        return
    draw.line([a, b], fill, max(1, round(width)))
    radius = width / 2
    for x, y in (a, b):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill)


def _dot(draw: ImageDraw.ImageDraw, at: Point | None, radius: float, fill: RGB) -> None:
    if at is not None:
        draw.ellipse((at[0] - radius, at[1] - radius, at[0] + radius, at[1] + radius), fill)


def _torso(
    draw: ImageDraw.ImageDraw, points: Sequence[Point | None], fill: RGB, width: float
) -> None:
    corners = [points[i] for i in (sk.R_SHOULDER, sk.L_SHOULDER, sk.L_HIP, sk.R_HIP)]
    present = [p for p in corners if p is not None]
    if len(present) >= 3:
        draw.polygon(present, fill)
    for a, b in sk.TRUNK[:4]:
        _bone(draw, points[a], points[b], fill, width * 1.2)


def _head(
    draw: ImageDraw.ImageDraw,
    canvas: Image.Image,
    points: Sequence[Point | None],
    look: Look,
    width: float,
    face: Image.Image | None,
) -> None:
    ears = _distance(points[sk.R_EAR], points[sk.L_EAR])
    neck_to_nose = _distance(points[sk.NOSE], points[sk.NECK])
    radius = max(ears * 0.6 if ears else 0.0, neck_to_nose * 0.55 if neck_to_nose else 0.0)
    radius = max(radius, width * 1.3)
    centre = points[sk.NOSE] or _midpoint(points[sk.R_EAR], points[sk.L_EAR])
    if centre is None:
        return
    _bone(
        draw,
        points[sk.NECK],
        _midpoint(points[sk.NECK], centre),
        shade(look.skin, 0.9),
        width * 0.8,
    )
    x, y = centre
    box = (x - radius, y - radius, x + radius, y + radius)
    if face is not None:
        side = max(1, round(radius * 2))
        mask = Image.new("L", (side, side), 0)
        ImageDraw.Draw(mask).ellipse((0, 0, side - 1, side - 1), 255)
        canvas.paste(
            face.resize((side, side), Image.Resampling.BILINEAR),
            (round(x - radius), round(y - radius)),
            mask,
        )
        return
    draw.ellipse(box, look.skin, look.palette.outline, max(1, round(width * 0.08)))
    if look.hair_style not in {"bald", "buzz"}:
        hair = mix(look.clothing, look.skin, 0.2) if look.hair_style == "hijab" else look.hair
        # The cap stops above eye level so the eyes stay on the face.
        draw.chord((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), 203, 337, hair)
    for eye in (points[sk.R_EYE], points[sk.L_EYE]):
        _dot(draw, eye, max(1.0, radius * 0.09), look.eyes)


def draw_figure(
    canvas: Image.Image,
    keypoints: Sequence[tuple[float, float, float]],
    look: Look,
    face: Image.Image | None = None,
) -> None:
    """Draw the figure posed by ``keypoints`` onto ``canvas`` in ``look``'s colours.

    The person's right side is drawn a shade darker so crossing limbs stay readable;
    ``face``, when given, fills the head circle (the avatar's face on its pose).
    """
    draw = ImageDraw.Draw(canvas)
    points = visible_points(keypoints, canvas.size)
    width = limb_width(points, canvas.size, look)
    trousers = shade(mix(look.clothing, (40, 50, 70), 0.5), 0.8)
    shoe = (35, 32, 30)
    for (a, b), far in zip(sk.LEGS, (True, True, False, False), strict=True):
        _bone(draw, points[a], points[b], shade(trousers, 0.85) if far else trousers, width * 1.15)
    for ankle in (points[sk.R_ANKLE], points[sk.L_ANKLE]):
        _dot(draw, ankle, width * 0.75, shoe)
    _torso(draw, points, look.clothing, width)
    for index, (a, b) in enumerate(sk.ARMS):
        far = index < 2
        upper = index % 2 == 0
        fill = look.clothing if upper else look.skin
        _bone(
            draw,
            points[a],
            points[b],
            shade(fill, 0.85) if far else fill,
            width * (1.0 if upper else 0.85),
        )
    for wrist in (points[sk.R_WRIST], points[sk.L_WRIST]):
        _dot(draw, wrist, width * 0.6, look.skin)
    _head(draw, canvas, points, look, width, face)
