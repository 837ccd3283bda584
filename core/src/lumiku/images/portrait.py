"""Draw a head-and-shoulders portrait from a ``Look``: flat shapes, one layer at a time."""

from __future__ import annotations

import random

import attrs
from PIL import Image, ImageDraw

from lumiku.images.look import Look
from lumiku.images.palette import RGB, mix, shade

_LONG = {"long", "straight", "wavy", "curly", "braids", "ponytail"}
_CAPPED = _LONG | {"short", "bob", "pixie", "bun", "afro"}


@attrs.frozen
class _Head:
    """Where the head sits and how to ink it."""

    cx: float
    cy: float
    rx: float
    ry: float
    unit: float
    outline: RGB | None
    ink: int


def _box(x: float, y: float, rx: float, ry: float) -> tuple[float, float, float, float]:
    return (x - rx, y - ry, x + rx, y + ry)


def _head(size: tuple[int, int], look: Look) -> _Head:
    width, height = size
    unit = min(width, height)
    scale = 1.15 if look.age < 13 else 1.0
    rx = unit * 0.155 * scale * (0.95 if look.feminine else 1.03)
    ink = max(1, round(unit * look.palette.outline_ratio)) if look.palette.outline else 0
    return _Head(width / 2, height / 2 - unit * 0.07, rx, rx * 1.3, unit, look.palette.outline, ink)


def _body(draw: ImageDraw.ImageDraw, h: _Head, look: Look) -> None:
    top = h.cy + h.ry + h.unit * 0.12
    half = h.unit * 0.4 * look.body_width
    draw.ellipse(
        (h.cx - half, top, h.cx + half, top + h.unit * 0.8), look.clothing, h.outline, h.ink
    )
    collar = h.rx * 0.55
    neckline = [
        (h.cx - collar, top + h.unit * 0.01),
        (h.cx + collar, top + h.unit * 0.01),
        (h.cx, top + h.unit * 0.13),
    ]
    draw.polygon(neckline, shade(look.skin, 0.9))


def _back_hair(draw: ImageDraw.ImageDraw, h: _Head, look: Look, rng: random.Random) -> None:
    style, hair = look.hair_style, look.hair
    cx, cy, rx, ry = h.cx, h.cy, h.rx, h.ry
    if style in {"long", "straight"}:
        draw.rounded_rectangle(
            (cx - rx * 1.22, cy - ry * 1.02, cx + rx * 1.22, cy + ry * 1.85),
            rx * 0.9,
            hair,
            h.outline,
            h.ink,
        )
    elif style == "wavy":
        for step in range(12):
            y = cy - ry * 0.4 + step * ry * 0.19
            wave = rx * 0.09 * (1 if step % 2 else -1)
            for side in (-1, 1):
                draw.ellipse(_box(cx + side * (rx * 0.98 + wave), y, rx * 0.34, ry * 0.2), hair)
        draw.ellipse(_box(cx, cy - ry * 0.15, rx * 1.2, ry * 0.95), hair)
    elif style in {"curly", "afro"}:
        reach = 1.55 if style == "afro" else 1.25
        draw.ellipse(_box(cx, cy - ry * 0.1, rx * reach, ry * reach * 0.9), hair)
        for _ in range(40 if style == "afro" else 28):
            x = cx + rng.uniform(-1, 1) * rx * reach
            y = cy + rng.uniform(-1.0, 1.3 if style == "curly" else 0.6) * ry * reach * 0.85
            r = rx * rng.uniform(0.16, 0.3)
            draw.ellipse(_box(x, y, r, r), shade(hair, rng.uniform(0.85, 1.12)))
    elif style == "bob":
        draw.rounded_rectangle(
            (cx - rx * 1.2, cy - ry * 1.02, cx + rx * 1.2, cy + ry * 0.85),
            rx * 0.7,
            hair,
            h.outline,
            h.ink,
        )
    elif style == "braids":
        for side in (-1, 1):
            for step in range(9):
                y = cy + step * ry * 0.24
                draw.ellipse(
                    _box(cx + side * rx * 1.02, y, rx * 0.17, ry * 0.14),
                    hair,
                    shade(hair, 0.7),
                    max(1, round(rx * 0.02)),
                )
    elif style == "ponytail":
        draw.ellipse(
            _box(cx + rx * 1.05, cy + ry * 0.1, rx * 0.32, ry * 0.85), hair, h.outline, h.ink
        )
    elif style == "hijab":
        scarf = mix(look.clothing, look.palette.backdrop[1], 0.35)
        draw.ellipse(_box(cx, cy - ry * 0.05, rx * 1.32, ry * 1.22), scarf, h.outline, h.ink)
        draw.polygon(
            [
                (cx - rx * 1.3, cy),
                (cx + rx * 1.3, cy),
                (cx + rx * 1.9, cy + ry * 2.1),
                (cx - rx * 1.9, cy + ry * 2.1),
            ],
            scarf,
        )


def _face(draw: ImageDraw.ImageDraw, h: _Head, look: Look) -> None:
    cx, cy, rx, ry = h.cx, h.cy, h.rx, h.ry
    if look.hair_style != "hijab":
        neck = rx * (0.62 if look.feminine else 0.72)
        draw.rectangle(
            (cx - neck, cy + ry * 0.5, cx + neck, cy + ry + h.unit * 0.13), shade(look.skin, 0.88)
        )
        for side in (-1, 1):
            draw.ellipse(
                _box(cx + side * rx * 0.98, cy + ry * 0.05, rx * 0.14, ry * 0.17),
                shade(look.skin, 0.94),
                h.outline,
                h.ink,
            )
    draw.ellipse(_box(cx, cy, rx, ry), look.skin, h.outline, h.ink)


def _front_hair(draw: ImageDraw.ImageDraw, h: _Head, look: Look, rng: random.Random) -> None:
    style, hair = look.hair_style, look.hair
    cx, cy, rx, ry = h.cx, h.cy, h.rx, h.ry
    if style in _CAPPED:
        draw.chord((cx - rx * 1.07, cy - ry * 1.1, cx + rx * 1.07, cy + ry * 0.22), 180, 360, hair)
        side = rng.choice((-1, 1))
        fringe = [
            (cx - rx * 0.95, cy - ry * 0.47),
            (cx + rx * 0.95, cy - ry * 0.47),
            (cx + side * rx * 0.7, cy - ry * (0.18 if style in _LONG else 0.3)),
        ]
        draw.polygon(fringe, hair)
    elif style == "buzz":
        draw.chord(
            (cx - rx * 1.02, cy - ry * 1.04, cx + rx * 1.02, cy + ry * 0.1),
            180,
            360,
            mix(hair, look.skin, 0.45),
        )
    elif style == "mohawk":
        draw.ellipse((cx - rx * 0.18, cy - ry * 1.4, cx + rx * 0.18, cy - ry * 0.3), hair)
    if style == "bun":
        draw.ellipse(_box(cx, cy - ry * 1.12, rx * 0.42, rx * 0.38), hair, h.outline, h.ink)


def _eyes(draw: ImageDraw.ImageDraw, h: _Head, look: Look) -> None:
    cx, cy, rx, ry = h.cx, h.cy, h.rx, h.ry
    big = (1.2 if look.age < 13 else 1.0) * (1.35 if look.palette.outline_ratio >= 0.006 else 1.0)
    half_w, half_h = rx * 0.16 * big, rx * 0.095 * big
    eye_y = cy - ry * 0.04
    brow = shade(look.hair, 0.75) if look.hair_style != "bald" else shade(look.skin, 0.6)
    tilt = (0.4 - look.smile) * half_h * 0.8
    for side in (-1, 1):
        ex = cx + side * rx * 0.4
        draw.ellipse(_box(ex, eye_y, half_w, half_h), (250, 250, 248))
        iris = half_h * 0.95
        draw.ellipse(_box(ex, eye_y, iris, iris), look.eyes)
        draw.ellipse(_box(ex, eye_y, iris * 0.45, iris * 0.45), (15, 12, 12))
        glint = iris * 0.22
        draw.ellipse(_box(ex + iris * 0.35, eye_y - iris * 0.35, glint, glint), (255, 255, 255))
        by = eye_y - half_h * 2.1
        inner, outer = (ex - side * half_w, by + tilt), (ex + side * half_w * 1.1, by - tilt * 0.3)
        draw.line([inner, outer], brow, max(1, round(rx * (0.045 if look.feminine else 0.075))))
        if look.glasses:
            frame = max(1, round(rx * 0.03))
            draw.ellipse(_box(ex, eye_y, half_w * 1.45, half_w * 1.2), None, (30, 30, 35), frame)
    if look.glasses:
        draw.line(
            [(cx - rx * 0.17, eye_y), (cx + rx * 0.17, eye_y)],
            (30, 30, 35),
            max(1, round(rx * 0.03)),
        )


def _mouth(draw: ImageDraw.ImageDraw, h: _Head, look: Look) -> None:
    cx, cy, rx, ry = h.cx, h.cy, h.rx, h.ry
    line = shade(look.skin, 0.7)
    draw.line(
        [(cx, cy + ry * 0.05), (cx + rx * 0.07, cy + ry * 0.27), (cx - rx * 0.03, cy + ry * 0.3)],
        line,
        max(1, round(rx * 0.03)),
    )
    width, mouth_y = rx * (0.42 if look.feminine else 0.48), cy + ry * 0.52
    bend = ry * 0.16 * look.smile
    lip = max(1, round(rx * (0.07 if look.feminine else 0.05)))
    if look.smile >= 0.75:
        draw.chord((cx - width, mouth_y - ry * 0.08, cx + width, mouth_y + bend), 0, 180, look.lips)
        draw.chord(
            (cx - width * 0.8, mouth_y - ry * 0.06, cx + width * 0.8, mouth_y + bend * 0.5),
            0,
            180,
            (248, 246, 240),
        )
    elif abs(bend) < ry * 0.02:
        draw.line([(cx - width * 0.8, mouth_y), (cx + width * 0.8, mouth_y)], look.lips, lip)
    elif bend > 0:
        draw.arc((cx - width, mouth_y - bend, cx + width, mouth_y + bend), 20, 160, look.lips, lip)
    else:
        draw.arc(
            (cx - width, mouth_y + bend * 0.2, cx + width, mouth_y - bend * 1.8),
            200,
            340,
            look.lips,
            lip,
        )


def _age_and_beard(draw: ImageDraw.ImageDraw, h: _Head, look: Look, rng: random.Random) -> None:
    cx, cy, rx, ry = h.cx, h.cy, h.rx, h.ry
    if look.feminine is False and look.age >= 18 and rng.random() < 0.35:
        beard = mix(look.hair, look.skin, 0.3)
        draw.chord((cx - rx * 0.98, cy - ry * 0.1, cx + rx * 0.98, cy + ry * 1.02), 25, 155, beard)
    if look.palette.outline_ratio >= 0.006 or look.feminine:
        blush = mix(look.skin, (235, 110, 120), 0.3)
        for side in (-1, 1):
            draw.ellipse(_box(cx + side * rx * 0.55, cy + ry * 0.28, rx * 0.14, ry * 0.07), blush)
    if look.age >= 50:
        crease, width = shade(look.skin, 0.78), max(1, round(rx * 0.02))
        for side in (-1, 1):
            fold = [(cx + side * rx * 0.22, cy + ry * 0.3), (cx + side * rx * 0.4, cy + ry * 0.58)]
            draw.line(fold, crease, width)
            corner = cx + side * rx * 0.62
            for lift in (-0.06, 0.0, 0.06):
                draw.line(
                    [(corner, cy - ry * 0.04), (corner + side * rx * 0.12, cy + ry * lift)],
                    crease,
                    width,
                )


def draw_portrait(canvas: Image.Image, look: Look, rng: random.Random) -> None:
    """Draw a head-and-shoulders figure of ``look`` onto ``canvas``, centred."""
    draw = ImageDraw.Draw(canvas)
    head = _head(canvas.size, look)
    _body(draw, head, look)
    _back_hair(draw, head, look, rng)
    _face(draw, head, look)
    _front_hair(draw, head, look, rng)
    _age_and_beard(draw, head, look, rng)
    _eyes(draw, head, look)
    _mouth(draw, head, look)
