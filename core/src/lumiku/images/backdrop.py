"""Backdrops for the local renderer: gradients and patterns chosen by the art style."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageOps

from lumiku.images.palette import RGB, StylePalette, mix, shade

Size = tuple[int, int]


def _linear(size: Size, top: RGB, bottom: RGB) -> Image.Image:
    ramp = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return ImageOps.colorize(ramp, top, bottom)


def _radial(size: Size, centre: RGB, edge: RGB) -> Image.Image:
    # radial_gradient is 0 in the middle and 255 at radius 128 of its 256px square. Only the
    # middle of a square 1.4 times the canvas is sampled, so the corners do not saturate;
    # resizing just that box avoids building the big square.
    side = max(size) * 1.4
    scale = 256 / side
    left, top = (side - size[0]) / 2 * scale, (side - size[1]) / 2 * scale
    box = (left, top, left + size[0] * scale, top + size[1] * scale)
    ramp = Image.radial_gradient("L").resize(size, Image.Resampling.BILINEAR, box=box)
    return ImageOps.colorize(ramp, centre, edge)


def _stripes(image: Image.Image, colour: RGB, rng: random.Random) -> None:
    width, height = image.size
    step = max(8, round(min(width, height) * rng.uniform(0.06, 0.12)))
    thickness = max(2, step // 3)
    draw = ImageDraw.Draw(image)
    for offset in range(-height, width + height, step):
        draw.line([(offset, 0), (offset + height, height)], fill=colour, width=thickness)


def _bokeh(image: Image.Image, colour: RGB, rng: random.Random) -> None:
    width, height = image.size
    draw = ImageDraw.Draw(image, "RGBA")  # RGBA fills blend onto the RGB image
    unit = min(width, height)
    for _ in range(14):
        radius = unit * rng.uniform(0.03, 0.12)
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        alpha = round(rng.uniform(40, 110))
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(*colour, alpha))


def _grid(image: Image.Image, colour: RGB, rng: random.Random) -> None:
    width, height = image.size
    step = max(8, round(min(width, height) * rng.uniform(0.05, 0.09)))
    draw = ImageDraw.Draw(image)
    for x in range(step // 2, width, step):
        draw.line([(x, 0), (x, height)], fill=colour, width=1)
    for y in range(height // 2, height, max(4, step // 2)):
        draw.line([(0, y), (width, y)], fill=colour, width=1)


def _dots(image: Image.Image, colour: RGB, rng: random.Random) -> None:
    width, height = image.size
    step = max(8, round(min(width, height) * rng.uniform(0.04, 0.07)))
    radius = step * 0.22
    draw = ImageDraw.Draw(image)
    for row, y in enumerate(range(0, height + step, step)):
        shift = step // 2 if row % 2 else 0
        for x in range(shift, width + step, step):
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)


def paint_backdrop(size: Size, palette: StylePalette, rng: random.Random) -> Image.Image:
    """Paint a backdrop of ``size`` in the palette's colours and pattern, varied by ``rng``."""
    first, second = palette.backdrop
    # Nudge the palette per seed so two portraits of one style do not share a backdrop.
    drift = rng.uniform(-0.12, 0.12)
    first, second = shade(first, 1 + drift), shade(second, 1 - drift)
    if rng.random() < 0.5:
        first, second = second, first
    if palette.pattern == "solid":
        return Image.new("RGB", size, first)
    if palette.pattern in {"radial", "bokeh"}:
        image = _radial(size, first, second)
    else:
        image = _linear(size, first, second)
    accent = mix(first, second, 0.5)
    if palette.pattern == "stripes":
        _stripes(image, shade(accent, 1.12), rng)
    elif palette.pattern == "bokeh":
        _bokeh(image, shade(first, 1.5), rng)
    elif palette.pattern == "grid":
        _grid(image, palette.outline or shade(accent, 1.3), rng)
    elif palette.pattern == "dots":
        _dots(image, shade(accent, 1.1), rng)
    return image


def plain_backdrop(size: Size, rgb: RGB) -> Image.Image:
    """Return a backdrop of one solid colour (the caller asked for an exact background)."""
    return Image.new("RGB", size, rgb)
